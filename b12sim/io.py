"""Writing user-facing files atomically (temp file in the same folder, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def atomic_path(path: str | os.PathLike, *, overwrite: bool, suffix: str = ".tmp"):
    """Check ``path`` may be written and return (final Path, temp Path in the same folder)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; refusing to overwrite it (use --force / overwrite=True)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the final file normal permissions
    return path, Path(tmp)


def write_csv(df: pd.DataFrame, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``df`` as CSV without its index, atomically."""
    path, tmp = atomic_path(path, overwrite=overwrite, suffix=".csv.tmp")
    try:
        df.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 130) -> Path:
    """Save a matplotlib figure atomically (figures are regenerated, so overwriting is allowed)."""
    path, tmp = atomic_path(path, overwrite=True, suffix=Path(path).suffix)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
