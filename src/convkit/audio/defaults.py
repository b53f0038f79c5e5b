"""Choosing the front end for a spec and a dataset: what ``default_preprocessing`` calls."""

from __future__ import annotations

from dataclasses import fields

from convkit.audio.preprocessing import AudioPreprocessing

# Data options a user may set on the command line / in fit(): the front end's settings.
SETTING_KEYS = tuple(f.name for f in fields(AudioPreprocessing) if f.name != "kind")


def audio_preprocessing_for(spec, dataset=None, options: dict | None = None) -> AudioPreprocessing:
    """The spec's volume (n_mels x frames x 1) plus settings from ``options``.

    The sample rate is ``options["sample_rate"]`` when given, else the most
    common rate in the dataset (no resampling of typical files), else 16 kHz.
    Other option keys are ignored, so a caller can pass all its data flags.
    """
    options = options or {}
    settings = {key: options[key] for key in SETTING_KEYS if options.get(key) is not None}
    if "sample_rate" not in settings and dataset is not None:
        settings["sample_rate"] = dataset.native_sample_rate()
    return AudioPreprocessing.for_spec(spec, **settings)
