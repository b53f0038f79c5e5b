"""The audio front end: decoding, resampling, the log-mel picture and SpecAugment."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from convkit.audio import AudioPreprocessing, SpecAugment, read_audio, resample
from convkit.audio.melspec import mel_band_centres, mel_filterbank
from convkit.errors import ShapeError, UsageError


def tone(hz: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def loudest_band(volume: np.ndarray) -> int:
    return int(volume[0].mean(axis=1).argmax())  # (1, n_mels, frames) -> band index


def test_import_is_cheap():
    code = (
        "import sys, convkit.audio; "
        "print(sorted(m for m in ('torch', 'soundfile', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_filterbank_is_triangles_that_cover_every_band():
    filters = mel_filterbank(8000, 256, 40, 20.0, 4000.0)
    assert filters.shape == (40, 129)
    assert filters.dtype == np.float32
    assert (filters >= 0).all()
    assert (filters.sum(axis=1) > 0).all()  # no empty band, even the narrow low ones
    peaks = filters.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()  # band centres rise with the band index


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("hz", [300.0, 1000.0, 2500.0])
def test_pure_tone_lands_in_its_mel_band(rate, hz):
    pre = AudioPreprocessing(sample_rate=rate, n_mels=40, frames=50)
    volume = pre.apply(tone(hz, 0.5, rate))
    centres = mel_band_centres(40, pre.f_min, rate / 2)
    assert abs(loudest_band(volume) - int(np.abs(centres - hz).argmin())) <= 1


def test_volume_shape_dtype_and_normalisation():
    pre = AudioPreprocessing(sample_rate=16000, n_mels=64, frames=97)
    rng = np.random.default_rng(0)
    # 1 s gives 1 + (16000 - 512) // 160 = 97 frames of 512 samples (the 25 ms window padded)
    clip = rng.standard_normal(16000).astype(np.float32) * 0.1
    volume = pre.apply(clip)
    assert volume.shape == (1, 64, 97) and volume.dtype == np.float32
    assert abs(float(volume.mean())) < 1e-4
    assert abs(float(volume.std()) - 1.0) < 1e-3


def test_short_clip_is_centred_and_padded_with_its_quietest_value():
    pre = AudioPreprocessing(sample_rate=8000, frames=100)
    volume = pre.apply(tone(1000, 0.2, 8000))[0]  # 0.2 s -> 17 real frames of 100
    floor = volume.min()
    assert np.allclose(volume[:, :40], floor) and np.allclose(volume[:, -40:], floor)
    assert volume[:, 45:55].max() > floor + 1.0  # the tone sits in the middle


def test_tiny_clip_still_gives_a_finite_volume():
    pre = AudioPreprocessing(sample_rate=8000)
    volume = pre.apply(tone(500, 0.001, 8000))  # 8 samples: shorter than one window
    assert volume.shape == (1, 40, 100) and np.isfinite(volume).all()


def test_long_clip_is_cropped_by_position():
    pre = AudioPreprocessing(sample_rate=8000, frames=50)
    # 0.5 s of 300 Hz, then 0.5 s of 2500 Hz: the left window hears the low tone.
    clip = np.concatenate([tone(300, 0.5, 8000), tone(2500, 0.5, 8000)])
    centres = mel_band_centres(40, pre.f_min, 4000)
    left = loudest_band(pre.apply(clip, position=0.0))
    right = loudest_band(pre.apply(clip, position=1.0))
    assert left == int(np.abs(centres - 300).argmin())
    assert right == int(np.abs(centres - 2500).argmin())


def test_batch_equals_one_clip_at_a_time():
    pre = AudioPreprocessing(sample_rate=8000)
    rng = np.random.default_rng(1)
    clips = [rng.standard_normal(n).astype(np.float32) for n in (50, 256, 3000, 12000)]
    batch = pre.apply_batch(clips, positions=[0.5, 0.2, 0.7, 0.3]).numpy()
    assert batch.shape == (4, 1, 40, 100)
    for row, (clip, place) in enumerate(zip(clips, [0.5, 0.2, 0.7, 0.3], strict=True)):
        np.testing.assert_allclose(batch[row], pre.apply(clip, position=place), atol=1e-4)
    import torch

    from_tensors = pre.apply_batch([torch.from_numpy(c) for c in clips], [0.5, 0.2, 0.7, 0.3])
    np.testing.assert_array_equal(from_tensors.numpy(), batch)  # tensors stay on their device


def test_resample_keeps_the_pitch_and_duration():
    clip = tone(440, 1.0, 44100)
    out = resample(clip, 44100, 16000)
    assert out.dtype == np.float32 and out.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.fft.rfftfreq(out.size, 1 / 16000)[spectrum.argmax()] - 440) < 2
    assert resample(clip, 44100, 44100) is clip  # same rate: no copy, no filtering


def test_read_audio_mixes_stereo_and_reads_flac_ogg_and_bytes(tmp_path):
    import soundfile

    left, right = tone(300, 0.3, 16000), tone(300, 0.3, 16000, amplitude=0.1)
    stereo = np.stack([left, right], axis=1)  # (T, 2)
    for suffix, subtype in ((".wav", "PCM_16"), (".flac", "PCM_16"), (".ogg", "VORBIS")):
        path = tmp_path / f"clip{suffix}"
        soundfile.write(str(path), stereo, 16000, subtype=subtype)
        samples, rate = read_audio(path)
        assert rate == 16000 and samples.ndim == 1
        assert abs(float(np.abs(samples).max()) - 0.3) < 0.03  # (0.5 + 0.1) / 2
        from_bytes, _ = read_audio(path.read_bytes())
        np.testing.assert_allclose(from_bytes, samples)


def test_preprocessing_round_trips_and_loads_any_rate(tmp_path):
    import soundfile

    pre = AudioPreprocessing(sample_rate=16000, n_mels=48, frames=80, hop_ms=12.5)
    again = AudioPreprocessing.from_dict(pre.to_dict())
    assert again == pre and pre.to_dict()["kind"] == "audio"
    path = tmp_path / "cd.wav"
    soundfile.write(str(path), tone(1000, 0.6, 44100), 44100)
    volume = pre.load(path)
    assert volume.shape == (1, 48, 80)
    centres = mel_band_centres(48, pre.f_min, 8000)
    assert abs(loudest_band(volume) - int(np.abs(centres - 1000).argmin())) <= 1


def test_preprocessing_rejects_bad_settings_with_the_fix():
    with pytest.raises(
        UsageError, match="unknown key `n_mel` in audio preprocessing; did you mean `n_mels`"
    ):
        AudioPreprocessing.from_dict({"n_mel": 40})
    with pytest.raises(UsageError, match=r"`hop_ms` must be a positive number. Received: hop_ms=0"):
        AudioPreprocessing(hop_ms=0)
    with pytest.raises(UsageError) as caught:
        AudioPreprocessing(sample_rate=8000, n_mels=200)
    assert str(caught.value) == (
        "audio preprocessing: `n_mels` must be an integer in [1, 129] (the FFT bins of a 25 ms "
        "window at 8000 Hz: use fewer mel bands or a longer window_ms). Received: n_mels=200"
    )
    with pytest.raises(UsageError) as caught:
        AudioPreprocessing(sample_rate=8000, f_max=5000.0)
    assert str(caught.value) == (
        "audio preprocessing: `f_max` must be a number in (0, 4000.0] (at most sample_rate/2). "
        "Received: f_max=5000.0"
    )
    with pytest.raises(
        UsageError, match=r"`f_min` must be a number in \[0, 300.0\) \(below f_max\)"
    ):
        AudioPreprocessing(f_min=300.0, f_max=300.0)
    with pytest.raises(UsageError, match="`normalise` must be one of .* did you mean `band`"):
        AudioPreprocessing(normalise="bands")


class _Volume:
    def __init__(self, height, width, channels):
        self.height, self.width, self.channels = height, width, channels


class _Spec:
    def __init__(self, height, width, channels):
        self.input = _Volume(height, width, channels)


def test_for_spec_takes_the_volume_and_explains_mismatches():
    pre = AudioPreprocessing.for_spec(_Spec(64, 120, 1), sample_rate=16000)
    assert (pre.n_mels, pre.frames, pre.input_shape) == (64, 120, (64, 120, 1))
    with pytest.raises(ShapeError, match="set the spec's input to 64x120x1"):
        AudioPreprocessing.for_spec(_Spec(64, 120, 3))
    with pytest.raises(ShapeError, match="frames=100 does not match the spec's input 64x120x1"):
        AudioPreprocessing.for_spec(_Spec(64, 120, 1), frames=100)


def test_spec_augment_is_deterministic_per_seed_epoch_index():
    augment = SpecAugment(freq_masks=2, freq_width=8, time_masks=2, time_width=20)
    base = np.random.default_rng(5).standard_normal((40, 100)).astype(np.float32)

    def masked(seed, epoch, index):
        return augment.mask(base.copy(), augment.rng(seed, epoch, index))

    np.testing.assert_array_equal(masked(0, 1, 7), masked(0, 1, 7))
    assert not np.array_equal(masked(0, 1, 7), masked(0, 2, 7))
    changed = masked(0, 1, 7) != base
    assert changed.any() and changed.mean() < 0.6
    with pytest.raises(
        UsageError, match="`freq_masks` must be a non-negative integer. Received: freq_masks=-1"
    ):
        SpecAugment(freq_masks=-1)
    with pytest.raises(UsageError, match=r"`time_shift` must be a number in \[0, 0.5\]"):
        SpecAugment(time_shift=0.7)
