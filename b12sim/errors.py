"""Errors raised at b12sim's boundaries.

Every refusal of user input is an :class:`InputError` that names the field, the
value given and what is allowed, so a CLI can print it as one line and a notebook
user can see at once what to fix.
"""

from __future__ import annotations

import difflib


class InputError(ValueError):
    """A user-supplied value is missing, malformed or out of range.

    Attributes
    ----------
    field : str
        Name of the offending input (``"b12"``, ``"regimen.phases[0].dose_ug"``, ...).
    value : object
        The value as the user gave it.
    allowed : str
        Human-readable description of what is accepted.
    """

    def __init__(self, field: str, value: object, allowed: str, hint: str = ""):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.hint = hint
        msg = f"{field}: got {value!r}; allowed: {allowed}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class UnitWarning(UserWarning):
    """A value is valid but looks like it was given in the wrong unit."""


class ContradictionWarning(UserWarning):
    """Values are each valid but cannot be true together (e.g. holoTC above the serum B12 it is part of)."""


def did_you_mean(word: object, choices, cutoff: float = 0.6) -> str:
    """The hint ``"did you mean 'x'?"`` for the choice nearest ``word``, or ``""`` when none is near."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=cutoff)
    return f"did you mean {close[0]!r}?" if close else ""
