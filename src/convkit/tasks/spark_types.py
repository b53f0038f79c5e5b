"""Field names of a Spark SQL ``struct<…>`` type string (pure Python, no pyspark)."""

from __future__ import annotations


def struct_fields(type_text: str) -> list[str]:
    """Top-level field names of ``struct<a:string, b:array<struct<…>>>``, in order."""
    body = type_text.strip()
    if not (body.startswith("struct<") and body.endswith(">")):
        raise ValueError(f"not a struct type: {type_text!r}")
    body = body[len("struct<") : -1]
    fields, depth, start = [], 0, 0
    for position, char in enumerate(body + ","):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif char == "," and depth == 0:
            fields.append(body[start:position].split(":", 1)[0].strip())
            start = position + 1
    return fields
