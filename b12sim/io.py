"""Writing user-facing files whole: one file (a temp file beside it, then rename) or a set of
files (a temp folder beside the target folder, then swapped in at once).

Temp names are ``.<target name>.b12sim-<process id>-<random>``. A run that is killed
leaves its temp behind; the next write to the same target removes the temps of processes
that no longer run and says so in one :class:`StaleTempWarning`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pandas as pd


class StaleTempWarning(UserWarning):
    """Temp files or folders left by an interrupted earlier run were removed."""


def _prefix(path: Path) -> str:
    return f".{path.name}.b12sim-{os.getpid()}-"


def _running(pid: int) -> bool:
    """Whether process ``pid`` may still run (always assumed on Windows, where signal 0 is Ctrl-C)."""
    if pid == os.getpid() or os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours, or the check is not possible here
        return True
    return True


def clean_stale(path: str | os.PathLike) -> list[Path]:
    """Remove the temps of ``path`` left by processes that no longer run; warn once if any were."""
    path = Path(path)
    head = f".{path.name}.b12sim-"
    gone = []
    if not path.parent.is_dir():
        return gone
    for p in path.parent.iterdir():
        pid = p.name[len(head):].partition("-")[0] if p.name.startswith(head) else ""
        if not pid.isdigit() or _running(int(pid)):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
        gone.append(p)
    if gone:
        warnings.warn(f"removed {len(gone)} temporary file(s) left beside {path} by an interrupted run: "
                      + ", ".join(p.name for p in gone), StaleTempWarning, stacklevel=2)
    return gone


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write, *, overwrite: bool, suffix: str = ".tmp") -> Path:
    """Call ``write(temp path)`` on a temp file beside ``path``, then rename it to ``path`` (kept unless ``overwrite``).

    ``suffix`` ends the temp file's name (writers such as matplotlib read the format from it)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; refusing to overwrite it (use --force / overwrite=True)")
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the final file normal permissions
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

    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight"), overwrite=True,
                            suffix=Path(path).suffix)
    finally:
        plt.close(fig)


def check_folder(folder: str | os.PathLike, names, *, overwrite: bool) -> Path:
    """Check that the set of files ``names`` can be written as folder ``folder``; return it (links resolved).

    A new folder needs a parent you can write to (it is tried). An existing one is replaced
    only with ``overwrite``, only if it holds nothing but files of the set (and temps), and
    only if it is writable; anything else is refused with an ``OSError`` saying why, and
    nothing is deleted. Removes stale temps (:func:`clean_stale`)."""
    folder = Path(folder)
    if folder.is_symlink():
        folder = folder.resolve()
    if folder.exists():
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is a file; a folder is needed for the result set")
        have = sorted(p.name for p in folder.iterdir())
        other = [n for n in have if n not in names and not n.endswith(".tmp")]
        if other:
            raise FileExistsError(f"{folder} holds files that are not part of a result set ({', '.join(other[:3])}"
                                  f"{', ...' if len(other) > 3 else ''}); give a new or empty folder")
        ours = [n for n in have if n in names]
        if ours and not overwrite:
            raise FileExistsError(f"{folder / ours[0]} exists; refusing to overwrite the results in {folder} "
                                  "(use --force / overwrite=True)")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"{folder} is read-only; a folder you can write to is needed")
    check_writable(folder)
    clean_stale(folder)
    return folder


def check_writable(path: str | os.PathLike) -> None:
    """Raise an ``OSError`` saying why ``path`` (a file or folder) could not be made: its folder, or the
    nearest one that exists above it, is tried for real, so read-only mounts count too."""
    path = Path(path)
    base = path.parent
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        raise NotADirectoryError(f"{base} is a file, so {path} cannot be made")
    try:
        Path(tempfile.mkdtemp(prefix=_prefix(path), dir=base)).rmdir()
    except OSError as e:
        raise PermissionError(f"cannot write in {base} ({e.strerror})") from None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where there is no such call."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # not on this file system or kernel
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def folder_writer(folder: str | os.PathLike, names, *, overwrite: bool):
    """Yield a temp folder beside ``folder`` to write the files ``names`` into; when the block ends
    without error and every file is there, the temp folder replaces ``folder`` whole.

    A reader sees the old set or the new one, never a mix: on Linux the two folders are
    exchanged in one call; elsewhere the old folder is renamed aside just before the new
    one is renamed in (a kill between the two leaves no ``folder`` and the old set in a
    temp beside it, removed by the next run). Checks as :func:`check_folder`."""
    names = tuple(names)
    folder = check_folder(folder, names, overwrite=overwrite)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(folder), dir=folder.parent))
    try:
        os.chmod(tmp, (folder.stat().st_mode & 0o7777) if folder.exists() else 0o777 & ~_umask())
        yield tmp
        missing = [n for n in names if not (tmp / n).is_file()]
        if missing:
            raise RuntimeError(f"incomplete result set, not written: {', '.join(missing)} missing")
        if not folder.exists():
            os.rename(tmp, folder)
        elif not _exchange(tmp, folder):
            aside = Path(tempfile.mkdtemp(prefix=_prefix(folder), dir=folder.parent))
            os.replace(folder, aside)
            os.rename(tmp, folder)
            shutil.rmtree(aside)
    finally:
        if tmp.exists():  # the new set not swapped in, or the old one swapped out
            shutil.rmtree(tmp)
