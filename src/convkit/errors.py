"""The exceptions convkit raises for user mistakes.

Every front end (CLI, server, Spark) turns a ``ConvkitError`` into a one-line
message: exit code 2 on the command line, a 4xx answer from the server.
Anything else that escapes is a bug in convkit, and is reported as such.
This module imports nothing heavy, so the pure ``spec`` layer can use it.
"""


class ConvkitError(Exception):
    """Base class of every error caused by input the user can fix."""


class SpecError(ConvkitError):
    """A network spec is malformed: unknown layer, bad parameter, bad YAML."""


class ShapeError(SpecError):
    """A spec is well formed, but its volumes do not fit together."""


class DataError(ConvkitError):
    """A dataset, image, recording or annotation cannot be used."""


class ModelFileError(ConvkitError):
    """A model or checkpoint file is missing, truncated, tampered or not ours."""


class UsageError(ConvkitError):
    """Options that contradict each other or do not apply."""


class TrainingDiverged(ConvkitError):
    """The loss became NaN or infinite; the run stopped, keeping its last good files."""
