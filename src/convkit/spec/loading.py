"""Reading a spec file (``.yaml``, ``.yml``, ``.json``) into a NetSpec.

The text is parsed and held to the document limits by ``spec/document.py``;
this module adds the file: regular files only, a size cap, UTF-8.
"""

from __future__ import annotations

from pathlib import Path

from convkit.errors import SpecError
from convkit.fileio import read_file_bytes
from convkit.spec.document import MAX_SPEC_BYTES, parse_json, parse_yaml
from convkit.spec.netspec import NetSpec


def load_spec(path: str | Path):
    """Read a ``.yaml``/``.yml``/``.json`` spec file into a NetSpec."""
    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise SpecError(f"{path} is a folder; give a spec file such as examples/lenet.yaml")
        if not path.exists():
            raise SpecError(f"spec file {path} not found (give a .yaml or .json file)")
    raw = read_file_bytes(
        path, limit=MAX_SPEC_BYTES, error=SpecError, what="spec file", setting=None
    )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"cannot read spec file {path}: not UTF-8 text ({error.reason})") from None
    parse = parse_json if path.suffix.lower() == ".json" else parse_yaml
    data = parse(text, str(path))
    try:
        return NetSpec.from_dict(data)
    except SpecError as error:
        raise type(error)(f"{path}: {error}") from None
