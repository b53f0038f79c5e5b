"""Synthetic text lines for tests and the quickstart, drawn with OpenCV's Hershey fonts.

Every line is a random string from an alphabet, drawn symbol by symbol (so the
spacing varies) in a random Hershey font, size, stroke and colour over a random
background (flat, gradient or blotchy texture), then slightly rotated, blurred
and sprinkled with noise, and scaled to a fixed height with its aspect kept.

Files are named by their text (``abc12.png``, a duplicate ``abc12_1.png``) when
every symbol is safe in a file name; otherwise ``000123.png`` with the texts in
``labels.tsv``. Either way the folder loads with ``convkit train … --data OUT``.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convkit.errors import UsageError
from convkit.ocr.alphabet import Alphabet, resolve_alphabet

# Symbols that are safe in a file name on every system and free of the
# duplicate-counter rule's underscore.
FILENAME_SAFE = set(string.ascii_letters + string.digits + "-+=()[]{}!@#$%&',.;~")

# Hershey fonts that stay legible when small (the script fonts do not).
FONT_NAMES = (
    "FONT_HERSHEY_SIMPLEX",
    "FONT_HERSHEY_PLAIN",
    "FONT_HERSHEY_DUPLEX",
    "FONT_HERSHEY_COMPLEX",
    "FONT_HERSHEY_TRIPLEX",
    "FONT_HERSHEY_COMPLEX_SMALL",
)


@dataclass
class LineStyle:
    """How noisy the generated lines are; the defaults are the benchmark's."""

    height: int = 32
    max_rotation: float = 2.0  # degrees, either way
    max_blur: float = 0.8  # Gaussian sigma in pixels at the final height
    max_noise: float = 8.0  # Gaussian noise sigma in grey levels
    max_extra_spacing: float = 0.15  # extra gap between symbols, in font heights
    min_contrast: int = 90  # grey-level gap between ink and paper
    italic: bool = True  # also use the italic variants


def random_text(rng: np.random.Generator, symbols: str, min_length: int, max_length: int) -> str:
    length = int(rng.integers(min_length, max_length + 1))
    text = "".join(rng.choice(list(symbols), size=length))
    # A line never starts or ends with a space (its width would hide it), and
    # words are one space apart (the eye cannot count a double space either).
    return " ".join(text.split()) or symbols.strip()[0]


def _background(rng: np.random.Generator, height: int, width: int, paper: int):
    """Paper of grey level ``paper``: flat, a gradient, or a blurred blotchy texture."""
    import cv2

    kind = rng.integers(3)
    page = np.full((height, width), float(paper), np.float32)
    if kind == 1:
        ramp = np.linspace(-1.0, 1.0, width, dtype=np.float32)
        page += ramp[None, :] * rng.uniform(5, 25)
    elif kind == 2:
        texture = rng.normal(0, 1, (max(height // 4, 2), max(width // 4, 2))).astype(np.float32)
        texture = cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC)
        page += cv2.GaussianBlur(texture, (0, 0), 2) * rng.uniform(5, 15)
    return page


def render_line(text: str, rng: np.random.Generator, style: LineStyle | None = None) -> np.ndarray:
    """One text line as an (height, W, 3) uint8 RGB image; W follows the text."""
    import cv2

    style = style or LineStyle()
    font = getattr(cv2, FONT_NAMES[rng.integers(len(FONT_NAMES))])
    if style.italic and rng.random() < 0.25:
        font |= cv2.FONT_ITALIC
    scale = 1.6  # drawn large, then scaled down: anti-aliasing stays smooth
    thickness = int(rng.integers(1, 4))
    (_, cap_height), baseline = cv2.getTextSize("Hg", font, scale, thickness)
    gap = rng.uniform(0, style.max_extra_spacing) * cap_height
    widths = [cv2.getTextSize(c, font, scale, thickness)[0][0] for c in text]
    margin_x = int(rng.integers(4, 16))
    margin_top = int(rng.integers(3, 10))
    margin_bottom = int(rng.integers(3, 10))
    width = int(sum(widths) + gap * (len(text) - 1)) + 2 * margin_x
    height = cap_height + baseline + margin_top + margin_bottom

    paper = int(rng.integers(0, 256))
    # Ink far enough from paper to read: dark on light or light on dark.
    if paper >= 128:
        ink = int(rng.integers(0, max(paper - style.min_contrast, 0) + 1))
    else:
        ink = int(rng.integers(min(paper + style.min_contrast, 255), 256))
    page = _background(rng, height, width, paper)

    # Draw the symbols on a mask, then blend ink into the paper through it.
    mask = np.zeros((height, width), np.uint8)
    x = float(margin_x)
    for symbol, symbol_width in zip(text, widths, strict=True):
        cv2.putText(
            mask,
            symbol,
            (int(x), margin_top + cap_height),
            font,
            scale,
            255,
            thickness,
            cv2.LINE_AA,
        )
        x += symbol_width + gap
    alpha = mask.astype(np.float32) / 255.0
    page = page * (1 - alpha) + ink * alpha

    angle = rng.uniform(-style.max_rotation, style.max_rotation)
    if angle:
        rotation = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        page = cv2.warpAffine(page, rotation, (width, height), borderMode=cv2.BORDER_REPLICATE)

    new_width = max(int(round(width * style.height / height)), 1)
    page = cv2.resize(page, (new_width, style.height), interpolation=cv2.INTER_AREA)
    sigma = rng.uniform(0, style.max_blur)
    if sigma > 0.2:
        page = cv2.GaussianBlur(page, (0, 0), sigma)
    page += rng.normal(0, rng.uniform(0, style.max_noise), page.shape).astype(np.float32)
    grey = np.clip(page, 0, 255).astype(np.uint8)

    # A faint colour cast: the reader must not rely on one colour channel.
    tint = rng.uniform(0.85, 1.0, size=3)
    return np.clip(grey[:, :, None] * tint[None, None, :], 0, 255).astype(np.uint8)


def names_by_text(symbols: str) -> bool:
    """Whether files can be named by their text (every symbol safe in a file name)."""
    return all(symbol in FILENAME_SAFE for symbol in symbols)


def generate_text_lines(
    out_dir: str | Path,
    count: int,
    alphabet: str = "alnum",
    min_length: int = 3,
    max_length: int = 10,
    seed: int = 0,
    style: LineStyle | None = None,
    progress: bool = False,
) -> list[tuple[Path, str]]:
    """Write ``count`` line images into ``out_dir``; returns (path, text) pairs."""
    import cv2

    symbols = Alphabet(resolve_alphabet(alphabet)).symbols
    if count < 1:
        raise UsageError(f"--count must be at least 1. Received: count={count}")
    if not 1 <= min_length <= max_length:
        raise UsageError(
            f"lengths must satisfy 1 <= min <= max. Received: min={min_length}, max={max_length}"
        )
    if not symbols.strip():
        raise UsageError("the alphabet needs at least one symbol other than a space")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    by_text = names_by_text(symbols)
    used: dict[str, int] = {}
    pairs: list[tuple[Path, str]] = []
    digits = max(6, int(math.log10(count)) + 1)

    lines = range(count)
    if progress:
        from tqdm import tqdm

        lines = tqdm(lines, desc="textlines", unit="line")
    for number in lines:
        text = random_text(rng, symbols, min_length, max_length)
        image = render_line(text, rng, style)
        if by_text:
            seen = used.get(text, 0)
            used[text] = seen + 1
            name = f"{text}.png" if seen == 0 else f"{text}_{seen}.png"
        else:
            name = f"{number:0{digits}d}.png"
        path = out / name
        ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if not ok:
            raise UsageError(f"OpenCV could not encode {path}")
        path.write_bytes(encoded.tobytes())
        pairs.append((path, text))
    if not by_text:
        with open(out / "labels.tsv", "w", encoding="utf-8") as table:
            table.write("path\ttext\n")
            table.writelines(f"{path.name}\t{text}\n" for path, text in pairs)
    return pairs
