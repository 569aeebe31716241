"""Writing user-facing files atomically (temp file in the same folder, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def atomic_write(path: str | os.PathLike, write, *, overwrite: bool, suffix: str = ".tmp") -> Path:
    """Call ``write(temp path)`` on a temp file beside ``path``, then rename it to ``path`` (kept unless ``overwrite``)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; refusing to overwrite it (use --force / overwrite=True)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the final file normal permissions
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def write_csv(df: pd.DataFrame, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``df`` as CSV without its index, atomically."""
    return atomic_write(path, lambda tmp: df.to_csv(tmp, index=False), overwrite=overwrite, suffix=".csv.tmp")


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 130) -> Path:
    """Save a matplotlib figure atomically, then close it (figures are regenerated, so overwriting is allowed)."""
    import matplotlib.pyplot as plt

    out = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight"), overwrite=True,
                       suffix=Path(path).suffix)
    plt.close(fig)
    return out
