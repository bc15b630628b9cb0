"""Everything about the package is in pyproject.toml; this file only declares the optional C
accelerator of the verifier's hot path (anxinma/credential/_speedups.c). ``optional=True``: where
no C compiler is present the build goes on without it and the same readers run in Python."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "anxinma.credential._speedups",
            ["anxinma/credential/_speedups.c"],
            optional=True,
        )
    ]
)
