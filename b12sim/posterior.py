"""Shipped posteriors: where they live, loading, thinning and writing them (atomically).

No PyMC here: loading a posterior needs only xarray.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

import numpy as np
import xarray as xr

NAMES = ("markers", "treatment", "haematology", "neurology")


def shipped_path(name: str = "markers") -> Path:
    """Path of the posterior shipped inside the package (``b12sim/posteriors/<name>.nc``)."""
    if name not in NAMES:
        from b12sim.errors import InputError

        raise InputError("posterior", name, f"one of {', '.join(NAMES)}")
    return Path(str(resources.files("b12sim").joinpath("posteriors", f"{name}.nc")))


@functools.cache
def load_posterior(name: str = "markers") -> xr.DataTree:
    """The shipped calibration DataTree ``name`` (loaded into memory once, cached)."""
    path = shipped_path(name)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; rebuild it with `b12sim calibrate`")
    return read(path)


def medians(name: str, names) -> dict[str, float]:
    """Posterior medians of the scalar variables ``names`` of the shipped calibration ``name``."""
    post = load_posterior(name)["posterior"].to_dataset()
    return {k: float(post[k].median()) for k in names}


def thin(post: xr.Dataset | xr.DataTree, names, n: int | None = None) -> dict[str, np.ndarray]:
    """``n`` evenly spaced draws (all if None; cycled if more than there are) of the scalar
    variables ``names`` of a posterior Dataset over (chain, draw), or of a DataTree's
    ``posterior`` group, chains joined in order: float arrays of shape (n,) by name."""
    if isinstance(post, xr.DataTree):
        post = post["posterior"].to_dataset()
    flat = post[list(names)].stack(sample=("chain", "draw"))
    total = flat.sizes["sample"]
    n = total if n is None else n
    idx = np.linspace(0, total - 1, min(n, total)).round().astype(int)
    return {k: np.resize(flat[k].to_numpy()[idx], n).astype(float) for k in names}


def read(path: str | os.PathLike) -> xr.DataTree:
    """Read a calibration DataTree from a netCDF file, fully into memory."""
    with xr.open_datatree(path, engine="h5netcdf") as dt:
        return dt.load()


def write(tree: xr.DataTree, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``tree`` to ``path`` atomically (temp file, then rename).

    Refuses to replace an existing file unless ``overwrite`` is true.
    """
    from b12sim.io import atomic_write

    return atomic_write(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"), overwrite=overwrite,
                        suffix=".nc.tmp")
