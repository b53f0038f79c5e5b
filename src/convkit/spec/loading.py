"""Reading specs from YAML or JSON text and files, with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from convkit.errors import SpecError


def parse_yaml(text: str, source: str = "spec") -> Any:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(f"{source}: bad YAML{place}: {problem}") from None
    if data is None:
        raise SpecError(f"{source}: the spec is empty; it needs `input` and `layers`")
    return data


def parse_json(text: str, source: str = "spec") -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SpecError(
            f"{source}: bad JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def load_spec(path: str | Path):
    """Read a ``.yaml``/``.yml``/``.json`` spec file into a NetSpec."""
    from convkit.spec.netspec import NetSpec

    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise SpecError(f"{path} is a folder; give a spec file such as examples/lenet.yaml")
        raise SpecError(f"spec file {path} not found (give a .yaml or .json file)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"cannot read spec file {path}: {error}") from None
    parse = parse_json if path.suffix.lower() == ".json" else parse_yaml
    data = parse(text, str(path))
    try:
        return NetSpec.from_dict(data)
    except SpecError as error:
        raise type(error)(f"{path}: {error}") from None
