"""Dask plumbing of the policy comparison: connecting to a scheduler or starting a local cluster, closing it
promptly, and the set-up of each local worker process (this module is their ``preload``)."""

from __future__ import annotations

import logging
import os
import signal

from b12sim.errors import InputError


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (if not yet running) with its stderr on the null device: after
    Ctrl-C the workers are killed, and its warning about their semaphores would follow the one-line message."""
    try:
        from multiprocessing import resource_tracker
    except ImportError:  # not on this platform
        return
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def connect(scheduler):
    """``(client, cluster)``: a dask.distributed Client for ``scheduler`` ("local", "local:N" or an address) and
    the LocalCluster it started (None for an address)."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, str) and (scheduler == "local" or scheduler.startswith("local:")):
        n = scheduler.partition(":")[2] or "2"
        if not n.isdigit() or not 1 <= int(n) <= 64:
            raise InputError("scheduler", scheduler, "local, local:N (N workers, 1-64) or a scheduler address")
        # each worker's numba kernel gets its share of the cores, so workers do not oversubscribe them
        threads = str(max(1, (os.cpu_count() or 1) // int(n)))
        # workers log errors only (a task cancelled by Ctrl-C is not news) and ignore Ctrl-C: a terminal's
        # reaches the whole process group, and only this process should answer it (it stops the workers)
        _quiet_resource_tracker()
        cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True, dashboard_address=None,
                               env={"NUMBA_NUM_THREADS": threads}, silence_logs=logging.ERROR,
                               preload=["b12sim.policy.cluster"])
        return Client(cluster), cluster
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise InputError("scheduler", scheduler, "local, local:N or a scheduler address such as tcp://host:8786")
    try:
        return Client(scheduler, timeout="5s"), None
    except (OSError, TimeoutError, ValueError) as e:  # unreachable, or not an address at all
        raise InputError("scheduler", scheduler, "a reachable Dask scheduler address (tcp://host:port)",
                         f"could not connect: {e}") from None


def close(client, cluster) -> None:
    """Close the client and a local cluster, waiting at most a second for each (after Ctrl-C a worker may
    still be busy in a kernel call: the console entry then ends the process, see :func:`b12sim.cli.console`)."""
    for part in (client, cluster):
        if part is not None:
            try:
                part.close(timeout=1)
            except (TimeoutError, OSError):
                pass


def dask_setup(worker) -> None:
    """Ignore Ctrl-C in the worker: the terminal sends it to the whole process group, and the process that
    started the cluster answers it by stopping the workers (:func:`b12sim.cli.console`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
