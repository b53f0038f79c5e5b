"""SpecAugment: training-time masking of mel bands and frames, plus a time shift.

Park et al. (2019) showed that hiding random stripes of a spectrogram makes a
speech model rely on the whole word rather than one formant or one instant. We
use its two cheap parts (frequency and time masks; no time warping) and add a
random placement of the clip inside the fixed-length window.

Randomness comes from ``np.random.default_rng((seed, epoch, index))``: the same
example in the same epoch is masked the same way whatever the batch order,
worker count or resume point.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from convkit.errors import UsageError
from convkit.spec.constraints import Interval, Param, check_keys, check_values

_MASKS = Param([Interval(int, 0, None)])
_PARAMS = {
    "freq_masks": _MASKS,
    "freq_width": _MASKS,
    "time_masks": _MASKS,
    "time_width": _MASKS,
    "time_shift": Param([Interval(float, 0, 0.5)], doc="a share of the free room"),
}


@dataclass(frozen=True)
class SpecAugment:
    """How hard to mask. Widths are maxima: each mask draws its width in [0, max]."""

    freq_masks: int = 2
    freq_width: int = 5  # mel bands per frequency mask
    time_masks: int = 2
    time_width: int = 5  # frames per time mask (50 ms at a 10 ms hop: a word is ~40 frames)
    # How far a clip may move off the centre of its window, as a share of the free room:
    # 0 keeps it centred, 0.5 lets it sit anywhere. Small shifts teach position tolerance
    # without making the dense layers learn every placement.
    time_shift: float = 0.2

    def __post_init__(self) -> None:
        check_values("SpecAugment", _PARAMS, asdict(self), UsageError)  # validated, kept as given

    @classmethod
    def from_dict(cls, d: dict) -> SpecAugment:
        known = [field.name for field in fields(cls)]
        return cls(**check_keys(d, known, "SpecAugment", error=UsageError))

    def to_dict(self) -> dict:
        return asdict(self)

    def rng(self, seed: int, epoch: int, index: int) -> np.random.Generator:
        return np.random.default_rng((int(seed), int(epoch), int(index)))

    def position(self, rng: np.random.Generator) -> float:
        """Where the clip sits in its fixed-length window (0.5 = centred)."""
        return float(rng.uniform(0.5 - self.time_shift, 0.5 + self.time_shift))

    def mask(self, spectrogram: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mask a normalised (n_mels, frames) spectrogram in place and return it.

        Masked cells are set to the clip's mean (0 after normalisation), so a
        mask reads as "no information" rather than as loud or silent sound.
        """
        n_mels, frames = spectrogram.shape
        fill = float(spectrogram.mean())
        for _ in range(self.freq_masks):
            width = int(rng.integers(0, min(self.freq_width, n_mels) + 1))
            start = int(rng.integers(0, n_mels - width + 1))
            spectrogram[start : start + width, :] = fill
        for _ in range(self.time_masks):
            width = int(rng.integers(0, min(self.time_width, frames) + 1))
            start = int(rng.integers(0, frames - width + 1))
            spectrogram[:, start : start + width] = fill
        return spectrogram


def as_spec_augment(augment: object) -> SpecAugment | None:
    """Accept what callers pass as "augment": None/False, True, a dict or a SpecAugment."""
    if augment is None or augment is False:
        return None
    if augment is True:
        return SpecAugment()
    if isinstance(augment, SpecAugment):
        return augment
    if isinstance(augment, dict):
        return SpecAugment.from_dict(augment)
    # An image Augment object from convkit.data means "augment": use speech defaults.
    return SpecAugment()


def spec_augment_from_options(options: dict) -> SpecAugment | None:
    """SpecAugment from data options: ``specaugment=on`` plus any of its settings by name.

    ``specaugment`` may also be a dict of settings. Returns None when it is off.
    """
    switch = options.get("specaugment")
    if isinstance(switch, dict):
        return SpecAugment.from_dict(switch)
    if isinstance(switch, str):
        switch = switch.strip().lower() not in ("", "0", "off", "false", "no", "none")
    if not switch:
        return None
    names = {field.name for field in fields(SpecAugment)}
    return SpecAugment.from_dict({k: v for k, v in options.items() if k in names})
