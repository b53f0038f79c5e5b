"""Reading a spec document from YAML or JSON text, with one-line errors.

A spec is small, but its text may come from anyone. Every parsed document is
held to limits before anything walks it (``check_document``):

- aliases: a YAML "billion laughs" is a few hundred bytes of ``&a [*b, *b, …]``
  that PyYAML keeps shared, but that becomes 10^9 nodes the moment anything
  copies, compares or prints it. We count the document *as if expanded* and
  refuse more than MAX_NODES;
- nesting deeper than MAX_DEPTH (YAML or JSON): the parsers and every walker
  after them recurse, and would end in a RecursionError;
- integers beyond MAX_INTEGER and strings beyond MAX_STRING characters: no
  layer has 10^15 filters or a 1 MB name, and such values would flow into
  allocations and error messages.

Values quoted in error messages are cut to a line (``short_repr``).
"""

from __future__ import annotations

import json
from typing import Any

from convkit.errors import SpecError

MAX_SPEC_BYTES = 4 * 1024 * 1024
MAX_NODES = 100_000  # values in the document once every alias is expanded
MAX_DEPTH = 64
MAX_INTEGER = 10**15
MAX_STRING = 1000
QUOTE_CHARS = 80  # longest value an error message quotes


def short_repr(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters with an ellipsis: safe to put in a message."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"… ({len(value):,} characters)"
    if isinstance(value, list | tuple | dict) and len(value) > 50:
        return f"<{type(value).__name__} of {len(value):,} items>"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def check_document(data: Any, source: str = "spec") -> Any:
    """Refuse documents over the size, depth, integer or string limits; return ``data``.

    Iterative, with shared sub-documents (YAML aliases) counted once per
    *use* through a memo of their expanded size, so a billion laughs costs
    as many steps as it has distinct nodes.
    """
    expanded: dict[int, int] = {}  # id(container) -> values below it, expanded
    # Post-order walk without recursion: (value, depth, children done?)
    stack: list[tuple[Any, int, bool]] = [(data, 1, False)]
    while stack:
        value, depth, done = stack.pop()
        if depth > MAX_DEPTH:
            raise SpecError(f"{source}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict | list):
            if id(value) in expanded and not done:
                continue
            children = (
                list(value.keys()) + list(value.values()) if isinstance(value, dict) else value
            )
            if not done:
                stack.append((value, depth, True))
                stack.extend((child, depth + 1, False) for child in children)
                continue
            total = 1 + sum(
                expanded.get(id(child), 1) if isinstance(child, dict | list) else 1
                for child in children
            )
            if total > MAX_NODES:
                raise SpecError(
                    f"{source}: the document expands to more than {MAX_NODES:,} values "
                    "(YAML aliases repeated inside each other?); a spec is far smaller"
                )
            expanded[id(value)] = total
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int) and abs(value) > MAX_INTEGER:
            raise SpecError(
                f"{source}: number {short_repr(value, 30)} is too large (limit {MAX_INTEGER:.0e})"
            )
        elif isinstance(value, str) and len(value) > MAX_STRING:
            raise SpecError(
                f"{source}: text value {short_repr(value)} is longer than {MAX_STRING:,} characters"
            )
    return data


def parse_yaml(text: str, source: str = "spec") -> Any:
    import yaml

    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise SpecError(f"{source}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as error:  # e.g. an integer of 5,000 digits (Python's int limit)
        raise SpecError(f"{source}: bad value: {short_repr(str(error), 120)}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(f"{source}: bad YAML{place}: {problem}") from None
    if data is None:
        raise SpecError(f"{source}: the spec is empty; it needs `input` and `layers`")
    return check_document(data, source)


def parse_json(text: str, source: str = "spec") -> Any:
    try:
        data = json.loads(text)
    except RecursionError:
        raise SpecError(f"{source}: nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as error:
        raise SpecError(
            f"{source}: bad JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except ValueError as error:  # an integer beyond Python's digit limit
        raise SpecError(f"{source}: bad value: {short_repr(str(error), 120)}") from None
    return check_document(data, source)
