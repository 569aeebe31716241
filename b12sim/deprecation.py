"""Renamed keywords keep working for a while, with a DeprecationWarning naming the new one."""

from __future__ import annotations

import functools
import warnings

from b12sim.errors import InputError


def renamed(**old_to_new: str):
    """Decorator: a keyword given by its old name (``old="new"``) is passed on as the new one,
    with a warning at the caller; both together are refused. A refusal of its value names
    the keyword as the caller wrote it."""
    def wrap(fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            used = {}
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got {new}= and its deprecated name {old}=")
                    warnings.warn(f"{fn.__name__}({old}=...) is deprecated; use {new}=...", DeprecationWarning, 2)
                    kwargs[new], used[new] = kwargs.pop(old), old
            try:
                return fn(*args, **kwargs)
            except InputError as e:
                if e.field not in used:
                    raise
                raise InputError(used[e.field], e.value, e.allowed, e.hint).with_traceback(e.__traceback__) from None
        return call
    return wrap
