"""Background jobs behind one small seam: ``jobs.submit(job)`` runs a callable later, off the
request. Today that is a daemon thread in this process (what the console's import runner did
inside its view module); the operations issue makes jobs durable across hosts by putting a
queue behind this same ``submit`` — callers do not change.

A job does its own writes through the services (each audited there); this module only runs it
and logs what escaped it, so a failed job never takes the process down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("anxinma.issuer.jobs")

Job = Callable[[], None]


class Jobs:
    """Runs submitted jobs in daemon threads of this process, and knows which still run."""

    def __init__(self) -> None:
        self._running: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def submit(self, job: Job, *, name: str = "anxinma-job") -> None:
        """Run ``job`` in the background; an exception it raises is logged, not re-raised."""

        def run() -> None:
            try:
                job()
            except Exception:  # the job records its own failure; this is the last guard
                log.exception("background job %s failed", name)
            finally:
                with self._lock:
                    self._running.discard(threading.current_thread())

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            self._running.add(thread)
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the jobs running now (tests, and a clean shutdown)."""
        with self._lock:
            running = list(self._running)
        for thread in running:
            thread.join(timeout)

    def close(self) -> None:
        """Give running jobs a moment to finish at shutdown (they are daemon threads)."""
        self.wait(timeout=5.0)


__all__ = ["Job", "Jobs"]
