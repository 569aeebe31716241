"""Posterior draws of the marker model as flat arrays, ready for scoring."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from b12sim.physiology import markers as mk
from b12sim.posterior import thin
from b12sim.validation import whole


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


def from_posterior(post: xr.Dataset | xr.DataTree, n_draws: int | None = None) -> Draws:
    """``n_draws`` evenly spaced draws of the marker model (all if None; :func:`posterior.thin`)."""
    if isinstance(post, xr.DataTree):
        post = post["posterior"].to_dataset()
    if n_draws is not None:
        n_draws = whole("draws", n_draws, 1, post.sizes["chain"] * post.sizes["draw"])
    return Draws(thin(post, mk.PARAMS, n_draws), mk.Constants.load())
