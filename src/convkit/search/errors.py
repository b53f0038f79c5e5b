"""The mistakes a user can make with search indexes, as ConvkitError kinds."""

from convkit.errors import ConvkitError, DataError


class IndexFileError(ConvkitError):
    """An index file is missing, truncated, corrupt or not a convkit index."""


class ModelMismatchError(ConvkitError):
    """An index is used with a model (or layer) other than the one that made it."""


class NoImagesError(DataError):
    """A folder holds no image convkit can read."""
