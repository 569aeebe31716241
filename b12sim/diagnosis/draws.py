"""Posterior draws of the marker model as flat arrays, ready for scoring."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from b12sim.errors import InputError
from b12sim.physiology import markers as mk


@dataclass(frozen=True)
class Draws:
    """Parameter arrays of shape (n_draws,) keyed by name, plus the model constants."""

    params: dict[str, np.ndarray]
    const: mk.Constants

    @property
    def n(self) -> int:
        return next(iter(self.params.values())).size

    def __getitem__(self, name: str) -> np.ndarray:
        return self.params[name]

    def sds(self) -> np.ndarray:
        """Total log-scale SD of each marker (n_draws, 5), in :data:`markers.MARKERS` order."""
        s = mk.log_sds(self.params, self.const)
        return np.stack([s[m] for m in mk.MARKERS], axis=1)


def from_posterior(post: xr.Dataset | xr.DataTree, n_draws: int | None = None) -> Draws:
    """Flatten ``chain`` x ``draw`` and keep ``n_draws`` evenly spaced draws (all if None)."""
    if isinstance(post, xr.DataTree):
        post = post["posterior"].to_dataset()
    flat = post[list(mk.PARAMS)].stack(sample=("chain", "draw"))
    total = flat.sizes["sample"]
    if n_draws is not None:
        if not 1 <= int(n_draws) <= total:
            raise InputError("draws", n_draws, f"an integer from 1 to {total}")
        idx = np.linspace(0, total - 1, int(n_draws)).round().astype(int)
        flat = flat.isel(sample=idx)
    return Draws({k: np.ascontiguousarray(flat[k].to_numpy(), dtype=float) for k in mk.PARAMS},
                 mk.Constants.load())
