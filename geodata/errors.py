"""Exceptions raised by :mod:`geodata`.

Every message is safe to show to a user: it names the file, column, row or feature at fault and
never carries SQL or driver text.
"""


class GeodataError(Exception):
    """Base class of every error raised by :mod:`geodata`.

    ``field`` names the offending input (a parameter, column or setting) as data, or is None
    when no single one is at fault; callers map it to their own answer without parsing the message.
    """

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidValue(GeodataError, ValueError):
    """Raised when a value given to a store or reader is not acceptable; ``.field`` names it."""


class InvalidFile(GeodataError, ValueError):
    """Raised when a whole file cannot be read: empty, wrong header, wrong format or encoding."""


class TooManyRecords(InvalidFile):
    """A file with more records than the reader was told to take (it stops reading there)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit:,} records")
        self.limit = limit


class InvalidLayer(GeodataError, ValueError):
    """Raised when a reference layer fails validation (CRS, geometry, required attributes)."""


class InvalidTaxonomy(GeodataError, ValueError):
    """Raised when the taxonomy data file is malformed."""


class InvalidHarmTable(GeodataError, ValueError):
    """Raised when a harm table file is malformed; the message names the file, row and column."""


class InvalidMapping(GeodataError, ValueError):
    """Raised when a force-export column mapping names columns or formats that do not fit."""


class StoreError(GeodataError):
    """Base class of errors raised by a store."""


class StoreUnavailable(StoreError, ConnectionError):
    """Raised when the store cannot be reached or opened (file locked, server down)."""


class UnsupportedStore(StoreError, ValueError):
    """Raised when a database URL names a store this build cannot open."""


class InvalidText(StoreError, ValueError):
    """Raised when text to be stored holds U+0000 (NUL): PostgreSQL's text cannot hold it, so
    no store keeps it (every store refuses it alike)."""


class StorePurposeError(StoreError, ValueError):
    """Raised when demo data would be mixed with a force's data in one store."""


class PublicationConflict(StoreError, ValueError):
    """Raised when a product would overlap (in time) a product of its kind already published."""


class InvalidBacktestKey(StoreError, ValueError):
    """Raised when a stored backtest's key is not 1 to 128 characters of ``0-9``, ``a-f``,
    ``-`` and ``:`` (the hash the caller makes of the data version, selection and candidates)."""


class InvalidAdvice(GeodataError, ValueError):
    """Raised when the prevention advice data file is malformed; the message names the file and
    the entry."""
