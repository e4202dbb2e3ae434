"""The exceptions iszones raises; the CLI and the app turn them into clean messages."""


class IszonesError(Exception):
    """Raised for any problem iszones can explain to the user (base class)."""


class DataFileError(IszonesError):
    """Raised when a file cannot be read, parsed or written."""


class SchemaError(IszonesError):
    """Raised when a feature or row breaks the data schema (names file, feature, field, value)."""


class CRSError(IszonesError):
    """Raised when a coordinate reference system is missing, unknown or implausible."""
