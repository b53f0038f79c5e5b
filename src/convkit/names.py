"""Names the Python API and the command line both accept, resolved in one place.

A spec may be given as a NetSpec, a dict, a YAML/JSON file, a model file
(``.convkit``: its spec) or a zoo name (``resnet18``, when no file of that
name exists). Data may be given as a path or as one of the names below:

    mnist            MNIST from the user cache (``$CONVKIT_DATA`` or
                     ~/.cache/convkit/mnist), downloaded (checksums verified) if missing
    sklearn-digits   the 8x8 digits that ship with scikit-learn (also
                     ``sklearn:digits``, ``digits``), offline

``api.fit``, ``api.evaluate``, ``convkit train``, ``convkit evaluate`` and
``convkit summary`` all go through ``resolve_spec`` / ``resolve_data``, so a
name that works in one works in every other.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MNIST_NAME = "mnist"

__all__ = [
    "MNIST_NAME",
    "default_data",
    "is_digits_name",
    "resolve_data",
    "resolve_spec",
    "zoo_name",
]


def is_digits_name(data) -> bool:
    """Whether ``data`` names scikit-learn's digits (``convkit.data.digits.DIGITS_NAMES``)."""
    from convkit.data.digits import is_digits_name as names_digits  # numpy: only when asked

    return names_digits(data)


def _say(message: str, progress: bool) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def zoo_name(spec) -> str | None:
    """The zoo network ``spec`` names, or None (not a string, or a file of that name exists)."""
    if not isinstance(spec, str | os.PathLike) or Path(spec).exists():
        return None
    from convkit.zoo import zoo_names

    text = os.fspath(spec)
    return text if text in zoo_names() else None


def resolve_spec(spec):
    """A NetSpec from a NetSpec, a dict, a spec file, a model file or a zoo name."""
    from convkit.spec import NetSpec, load_spec

    if isinstance(spec, NetSpec):
        return spec
    if isinstance(spec, dict):
        return NetSpec.from_dict(spec)
    path = Path(spec)
    if path.suffix == ".convkit" and path.is_file():
        from convkit.modelfile import read_document

        return NetSpec.from_dict(read_document(path)[0]["spec"])
    name = zoo_name(spec)
    if name is not None:
        from convkit.zoo import get_spec

        return get_spec(name)
    if not path.suffix and not path.exists():  # a name, but not one the zoo has
        from convkit.errors import SpecError
        from convkit.spec.suggest import did_you_mean
        from convkit.zoo import zoo_names

        raise SpecError(
            f"spec file {path} not found, and no zoo network is called that"
            f"{did_you_mean(path.name, zoo_names())} (give a .yaml or .json file, "
            "or a zoo name: `convkit summary --help` lists them)"
        )
    return load_spec(spec)


def default_data(progress: bool = True) -> str:
    """Cached MNIST if the user has it, else the digits scikit-learn ships."""
    from convkit.data import find_mnist

    found = find_mnist()
    if found is not None:
        _say(f"no --data given: using MNIST from {found}", progress)
        return str(found)
    _say(
        "no --data given and no MNIST in ~/.cache/convkit/mnist: training on scikit-learn's "
        "bundled handwritten digits (1,797 8x8 images, upsampled). "
        "Use --data mnist to download MNIST, or --data PATH.",
        progress,
    )
    return "sklearn-digits"


def resolve_data(data, progress: bool = True):
    """``data`` as the data sources read it: ``mnist`` becomes the cached copy's folder.

    None means the default (``default_data``). The digits names and every path
    come back as given (the data sources open ``sklearn-digits`` themselves).
    """
    if data is None:
        return default_data(progress)
    if isinstance(data, str) and data.lower() == MNIST_NAME:
        from convkit.data import download_mnist, find_mnist

        found = find_mnist()
        if found is None:
            _say(
                "MNIST is not in ~/.cache/convkit/mnist: downloading it (checksums verified)",
                progress,
            )
            found = download_mnist()
        return str(found)
    return data
