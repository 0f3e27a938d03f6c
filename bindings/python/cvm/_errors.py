"""Exceptions: one class per cvm_status, all under cvm.Error.

Each also derives from the built-in exception a Python user would expect
(InvalidInput is a ValueError, IOFailure an OSError, ...), so generic
handlers keep working."""


class Error(Exception):
    """A libcvm call failed. `status` is the cvm_status code (None for errors
    raised by the binding itself); str(e) is the handle's message."""

    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self):
        return self.args[0] if self.args else ""


class InvalidInput(Error, ValueError):
    status = 1


class OutOfMemory(Error, MemoryError):
    status = 2


class ABIMismatch(Error):
    status = 3


class IOFailure(Error, OSError):
    status = 4


class ParseError(Error, ValueError):
    status = 5


class RangeError(Error, ValueError):
    status = 6


class NotFound(Error, LookupError):
    status = 7


class EmptyInput(Error, ValueError):
    status = 8


class FormatError(Error, ValueError):
    status = 9


class NoConvergence(Error, RuntimeError):
    status = 11


class Mismatch(Error, ValueError):
    status = 12


class VersionMismatch(Error, ImportError):
    """The loaded libcvm has a different major version than this package."""


class LibraryNotFound(Error, ImportError):
    """No libcvm shared library could be found or loaded."""


BY_STATUS = {cls.status: cls for cls in (
    InvalidInput, OutOfMemory, ABIMismatch, IOFailure, ParseError, RangeError, NotFound,
    EmptyInput, FormatError, NoConvergence, Mismatch)}


def from_status(status, message):
    """The exception for `status` carrying `message`."""
    return BY_STATUS.get(status, Error)(message, status)
