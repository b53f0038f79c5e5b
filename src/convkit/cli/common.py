"""Small helpers shared by the CLI verbs: option parsing and output."""

from __future__ import annotations

import argparse
import json
import sys

from convkit.errors import UsageError


def add_verb(subparsers, name: str, about: str, **settings) -> argparse.ArgumentParser:
    """One verb's parser. ``about``: the one-line help, a blank line, the description.

    The description keeps its line breaks, as every verb's epilog (a block of
    example commands laid out by hand) does: argparse would rewrap both.
    """
    help_line, _, description = about.strip().partition("\n\n")
    settings.setdefault("description", description.strip() or help_line)
    return subparsers.add_parser(
        name, help=help_line, formatter_class=argparse.RawDescriptionHelpFormatter, **settings
    )


def parse_key_values(text: str | None, flag: str) -> dict:
    """ "flip,crop=4,rotate=10" -> {"flip": True, "crop": 4, "rotate": 10}."""
    if not text:
        return {}
    result: dict = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not _:
            result[key] = True
            continue
        result[key] = _number_or_text(value.strip(), flag, key)
    return result


def _number_or_text(value: str, flag: str, key: str):
    lowered = value.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    if not value:
        raise UsageError(f"{flag}: `{key}` has no value")
    return value


def print_json(value) -> None:
    print(json.dumps(value, indent=2, default=str))


def info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
