"""Set-up of each Dask worker process of a local cluster (loaded by ``preload``)."""

from __future__ import annotations

import signal


def dask_setup(worker) -> None:
    """Ignore Ctrl-C in the worker: the terminal sends it to the whole process group, and the process that
    started the cluster answers it by stopping the workers (:func:`b12sim.cli.console`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
