"""Reading recordings: WAV/FLAC/OGG from a path or bytes, mixed to mono, resampled.

Everything here returns plain float32 numpy arrays in [-1, 1]; the spectrogram
front end (``convkit.audio.melspec``) takes over from there. Every way a file can
be unusable (missing, empty, truncated, not audio, silent) raises ``DataError``
with the file's name, so a dataset can skip it and report why.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from convkit.data.suffixes import AUDIO_SUFFIXES
from convkit.errors import DataError

# The containers libsndfile reads that people actually store recordings in (one list:
# convkit.data.suffixes); the old name stays for callers of convkit.audio.
AUDIO_EXTENSIONS = AUDIO_SUFFIXES

# Below this peak amplitude a clip is digital silence (16-bit PCM's smallest step is 3e-5).
SILENCE_PEAK = 1e-5


def _describe_source(source: str | Path | bytes | bytearray) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    return str(source)


def read_audio(source: str | Path | bytes | bytearray) -> tuple[np.ndarray, int]:
    """Decode a recording to ``(samples, sample_rate)``: float32 mono, shape (T,).

    Channels are averaged (a stereo clip becomes its mid signal). Raises
    ``DataError`` for a missing, empty, truncated or non-audio file.
    """
    import soundfile  # lazy: libsndfile is only needed once sound is read

    name = _describe_source(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise DataError(f"{name}: empty recording (0 bytes)")
        handle: object = io.BytesIO(bytes(source))
    else:
        from convkit.fileio import not_regular_reason, read_file_bytes

        path = Path(source)
        if not_regular_reason(path) == "file not found":
            raise DataError(f"{name}: no such recording")
        # Through the one reader: a FIFO or a link to /dev/zero is refused, not read forever.
        data = read_file_bytes(path, error=DataError, what="recording")
        if not data:
            raise DataError(f"{name}: empty recording (0 bytes)")
        handle = io.BytesIO(data)
    try:
        samples, sample_rate = soundfile.read(handle, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        # libsndfile's own words ("Format not recognised", "unexpected end of file")
        # say best what is wrong with the bytes.
        reason = str(error).split(":")[-1].strip() or type(error).__name__
        raise DataError(f"{name}: not a readable WAV/FLAC/OGG recording ({reason})") from None
    if samples.shape[0] == 0:
        raise DataError(f"{name}: recording holds no samples")
    mono = samples.mean(axis=1, dtype=np.float32)  # (T, channels) -> (T,)
    if not np.isfinite(mono).all():
        raise DataError(f"{name}: recording holds NaN or infinite samples")
    return np.ascontiguousarray(mono), int(sample_rate)


def check_not_silent(samples: np.ndarray, name: str = "recording") -> None:
    """Raise ``DataError`` when a clip is digital silence: it carries nothing to learn from."""
    if samples.size == 0 or float(np.abs(samples).max()) < SILENCE_PEAK:
        raise DataError(f"{name}: silent recording (every sample is zero)")


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample a mono clip (T,) from ``from_rate`` to ``to_rate`` Hz, float32.

    Polyphase filtering (scipy's ``resample_poly``) with the smallest integer
    up/down factors, so 44.1 kHz -> 16 kHz is exact and anti-aliased.
    """
    if from_rate <= 0 or to_rate <= 0:
        raise DataError(
            f"sample rates must be positive. Received: from_rate={from_rate}, to_rate={to_rate}"
        )
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly  # lazy: scipy is heavy to import

    common = math.gcd(int(from_rate), int(to_rate))
    up, down = int(to_rate) // common, int(from_rate) // common
    out = resample_poly(samples.astype(np.float64), up, down)
    return out.astype(np.float32)


def load_mono(
    source: str | Path | bytes | bytearray, sample_rate: int, reject_silence: bool = True
) -> np.ndarray:
    """Decode, mix to mono and resample to ``sample_rate``: float32 (T,)."""
    samples, rate = read_audio(source)
    if reject_silence:
        check_not_silent(samples, _describe_source(source))
    return resample(samples, rate, sample_rate)
