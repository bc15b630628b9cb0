"""Everything about the package is in pyproject.toml; this file only declares the optional C
accelerator of the verifier's hot path (anxinma/credential/_speedups.c).

The accelerator is optional: where no C compiler is present, or the build fails, or
``ANXINMA_NO_SPEEDUPS=1`` is set, the build goes on without it and the same readers run in
Python. The wheel's tag follows what it holds: ``cp311-cp311-<platform>`` only when the compiled
module is inside, ``py3-none-any`` otherwise (setuptools would tag it for the platform as soon as
an extension is *declared*, built or not)."""

from __future__ import annotations

import os

from setuptools import Extension, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_ext import build_ext

SKIP_ENV = "ANXINMA_NO_SPEEDUPS"


def _skipped_by_env() -> bool:
    return os.environ.get(SKIP_ENV, "").strip().lower() in ("1", "true", "yes")


class OptionalBuildExt(build_ext):
    """Builds each optional extension if it can and records which ones it built.

    An extension it did not build leaves no compiled file behind in the build directory: a
    module from an earlier build there would otherwise be packed into this wheel."""

    def run(self) -> None:
        self.built_extensions: list[str] = []
        super().run()

    def build_extension(self, ext: Extension) -> None:
        if _skipped_by_env():
            print(f"{SKIP_ENV} is set: {ext.name} not built (pure Python readers)")
            self._drop_stale(ext)
            return
        try:
            super().build_extension(ext)
        except Exception as exc:  # no compiler, no Python headers, a compile error
            if not getattr(ext, "optional", False):
                raise
            print(f"optional extension {ext.name} not built ({exc}); the pure Python readers are used")
            self._drop_stale(ext)
            return
        self.built_extensions.append(ext.name)

    def _drop_stale(self, ext: Extension) -> None:
        stale = self.get_ext_fullpath(ext.name)
        if os.path.exists(stale):
            os.remove(stale)


class TaggedBdistWheel(bdist_wheel):
    """A wheel that is pure (``py3-none-any``) unless a compiled module went into it."""

    def run(self) -> None:
        if not self.skip_build:
            self.reinitialize_command("build_ext").inplace = False
            self.run_command("build")  # the base class's run_command("build") is then a no-op
            if not getattr(self.get_finalized_command("build_ext"), "built_extensions", []):
                # Nothing compiled: pack it as a pure distribution (purelib, not <name>.data/platlib).
                self.distribution.ext_modules = []
                self.root_is_pure = not self.distribution.has_c_libraries()
        super().run()


setup(
    ext_modules=[
        Extension(
            "anxinma.credential._speedups",
            ["anxinma/credential/_speedups.c"],
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt, "bdist_wheel": TaggedBdistWheel},
)
