"""The log-mel spectrogram: a recording turned into an image of mel bands x frames.

Computed with torch (``torch.stft`` and a mel filterbank built here), so it runs
on the GPU when the waveform is there. The picture the network sees:

    waveform (T,) -> power spectrum (freq bins, frames) -> mel bands (n_mels, frames)
    -> log -> per-utterance normalisation -> centre pad/crop to a fixed number of frames

Clips are processed a batch at a time (padded to the longest, each normalised
over its own real frames only): one ``stft`` call per batch instead of one per
clip, which on a busy CPU is the difference between 2 ms and 60 ms a clip.

Row 0 is the lowest mel band, so an image drawn with ``origin="lower"`` has low
pitches at the bottom.
"""

from __future__ import annotations

import functools
import math

import numpy as np

# Power below this is treated as silence: keeps log() finite on digital zeros.
LOG_FLOOR = 1e-10


def hz_to_mel(hz: float | np.ndarray) -> float | np.ndarray:
    """HTK mel scale: linear-ish below 1 kHz, logarithmic above."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: float | np.ndarray) -> float | np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_band_centres(n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """Centre frequency in Hz of each of the ``n_mels`` bands, low to high."""
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    return edges[1:-1]


@functools.lru_cache(maxsize=16)
def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float
) -> np.ndarray:
    """Triangular mel filters, float32 (n_mels, n_fft // 2 + 1).

    Band m rises linearly from edge m to its centre m+1 and falls to edge m+2,
    the edges equally spaced in mel. Weights are evaluated at each FFT bin's
    frequency, so narrow low bands still touch their nearest bins.
    """
    bin_hz = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)  # (F,)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))  # (M+2,)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (M, 1)
    rising = (bin_hz[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bin_hz[None, :]) / np.maximum(upper - centre, 1e-9)
    weights = np.clip(np.minimum(rising, falling), 0.0, None)  # (M, F)
    # Equal area per band (Slaney's normalisation), so wide high bands do not
    # dominate the log spectrum just by collecting more bins.
    weights *= 2.0 / np.maximum(upper - lower, 1e-9)
    weights.flags.writeable = False
    return weights.astype(np.float32)


def fft_size(window_samples: int) -> int:
    """The smallest power of two that holds one analysis window."""
    return 1 << max(0, math.ceil(math.log2(max(window_samples, 1))))


def log_mel(
    waveform,
    sample_rate: int,
    n_mels: int,
    window_samples: int,
    hop_samples: int,
    f_min: float = 0.0,
    f_max: float | None = None,
):
    """Log-mel power spectrogram of one clip or a batch.

    ``waveform`` is a torch tensor (T,) or (N, T); returns float32 (n_mels, frames)
    or (N, n_mels, frames) on the waveform's device. Clips shorter than one
    frame are zero-padded to one frame first, so any length gives >= 1 frame.
    """
    import torch

    n_fft = fft_size(window_samples)
    f_max = sample_rate / 2.0 if f_max is None else f_max
    if waveform.shape[-1] < n_fft:
        waveform = torch.nn.functional.pad(waveform, (0, n_fft - waveform.shape[-1]))
    window = torch.hann_window(window_samples, device=waveform.device, dtype=torch.float32)
    spectrum = torch.stft(
        waveform.float(),
        n_fft=n_fft,
        hop_length=hop_samples,
        win_length=window_samples,
        window=window,
        center=False,  # frame t starts at sample t * hop: no reflected padding at the edges
        return_complex=True,
    )  # (…, n_fft // 2 + 1, frames)
    power = spectrum.real.square() + spectrum.imag.square()
    filters = torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max))
    mel = torch.matmul(filters.to(power.device), power)  # (…, n_mels, frames)
    return torch.log(mel.clamp_min(LOG_FLOOR))


def frame_count(samples: int, window_samples: int, hop_samples: int) -> int:
    """Frames ``log_mel`` gives a clip of ``samples`` (at least 1: short clips are padded).

    ``torch.stft`` frames are ``fft_size(window)`` samples long (the window sits
    zero-padded in their middle), so that length, not the window's, counts.
    """
    return 1 + max(0, samples - fft_size(window_samples)) // hop_samples


def normalise_valid(spectrogram, valid, mode: str):
    """Per-utterance normalisation of (N, n_mels, T), using only each clip's real frames.

    ``valid`` is a bool (N, 1, T) mask of real (not batch-padding) frames.
    ``"utterance"``: zero mean, unit variance over the whole clip (loudness and
    microphone gain stop mattering). ``"band"``: per mel band over time (also
    removes a fixed channel colouring). ``"none"``: raw log power.
    """
    if mode == "none":
        return spectrogram
    weights = valid.to(spectrogram.dtype)  # (N, 1, T)
    dims = (-2, -1) if mode == "utterance" else (-1,)
    count = weights.expand_as(spectrogram).sum(dim=dims, keepdim=True)
    mean = (spectrogram * weights).sum(dim=dims, keepdim=True) / count
    variance = (((spectrogram - mean) * weights) ** 2).sum(dim=dims, keepdim=True) / count
    return (spectrogram - mean) / variance.sqrt().clamp_min(1e-5)


def fix_frames(spectrogram, lengths, frames: int, positions):
    """Crop or pad each clip of (N, n_mels, T) to its own window: (N, n_mels, frames).

    Clip n has ``lengths[n]`` real frames. ``positions[n]`` places it: 0.5
    centres it (prediction), other values in [0, 1] shift it left or right (a
    random time shift in training). Padding uses the clip's own quietest value,
    so the added frames look like the silence around a word, not like an
    average sound.
    """
    import torch

    device = spectrogram.device
    lengths = torch.as_tensor(lengths, device=device)  # (N,)
    positions = torch.as_tensor(positions, device=device, dtype=torch.float32)  # (N,)
    # First source frame of each window: >= 0 crops a long clip, < 0 pads a short one.
    start = torch.round((lengths - frames).to(torch.float32) * positions).to(torch.long)  # (N,)
    source = start[:, None] + torch.arange(frames, device=device)[None, :]  # (N, frames)
    inside = (source >= 0) & (source < lengths[:, None])  # (N, frames)
    gathered = torch.gather(
        spectrogram,
        2,
        source.clamp(0, spectrogram.shape[-1] - 1)[:, None, :].expand(-1, spectrogram.shape[1], -1),
    )  # (N, n_mels, frames)
    real = (
        torch.arange(spectrogram.shape[-1], device=device)[None, None, :] < lengths[:, None, None]
    )
    floor = spectrogram.masked_fill(~real, float("inf")).amin(dim=(1, 2), keepdim=True)  # (N, 1, 1)
    return torch.where(inside[:, None, :], gathered, floor)
