"""One exception family for everything a user can get wrong.

Every message says what went wrong, where (file, row, column where there is one) and what to try.
The CLI turns a :class:`TruefansError` into one line and a non-zero exit; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class TruefansError(Exception):
    """Base class of every error a user can cause and fix."""

    exit_code = 1


class WorkspaceError(TruefansError):
    """The workspace cannot be opened, created or migrated."""


class UnusableFile(TruefansError):
    """A file cannot be imported at all (missing, unreadable, wrong columns, empty...).

    Nothing of it is stored.
    """

    exit_code = 2

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class UnknownFormat(UnusableFile):
    """No source recognises the file."""


class MixedCurrency(TruefansError):
    """Amounts in different currencies were about to be added together."""


class InvalidOption(TruefansError):
    """A command-line or API option has a value that cannot be used."""


class NotFitted(TruefansError):
    """A model was asked to predict before it was fitted."""


class ConvergenceError(TruefansError):
    """A model fit did not converge."""


class NotEnoughData(TruefansError):
    """The workspace has too little of the data an analysis needs (it says which and how to add it)."""
