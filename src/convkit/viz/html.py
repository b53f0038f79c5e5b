"""Small helpers for the self-contained HTML pages viz writes (no external assets)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
figure { display: inline-block; margin: 0 1rem 1rem 0; vertical-align: top; }
figcaption { font-family: monospace; font-size: .9rem; color: #555; }
img { max-width: 100%; image-rendering: pixelated; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
pre { background: #f7f7f7; padding: .8rem; overflow-x: auto; font-size: .85rem; }
.muted { color: #777; }
"""


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def data_uri(png: bytes) -> str:
    """PNG bytes as a data: URI, so a page carries its images inside itself."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(src: str, caption: str, alt: str | None = None) -> str:
    return (
        f'<figure><img src="{escape(src)}" alt="{escape(alt or caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def write_page(path: str | Path, title: str, body: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(title, body), encoding="utf-8")
    return path
