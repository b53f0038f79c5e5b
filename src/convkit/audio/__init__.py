"""Sound as images: recordings -> log-mel spectrograms -> an ordinary ConvNet.

A spoken-digit network is a plain spec whose input volume is
``n_mels x frames x 1``; this package turns recordings into that volume.

    read_audio / load_mono / resample     decode WAV/FLAC/OGG, mono, any sample rate
    AudioPreprocessing                    the log-mel recipe that travels in the model file
    SpecAugment                           training-time frequency/time masks
    open_audio_dataset                    folders of recordings, labels from folders or names
    make_audio_batches                    the BatchSource the Trainer consumes
    spectrogram_figure                    draw what the network sees

Importing this package is cheap: torch, soundfile, scipy and matplotlib are
imported inside the functions that use them.
"""

from convkit.audio.batches import AudioBatchSource, make_audio_batches
from convkit.audio.dataset import AudioDataset, AudioScanReport
from convkit.audio.decode import AUDIO_EXTENSIONS, load_mono, read_audio, resample
from convkit.audio.defaults import audio_preprocessing_for
from convkit.audio.figure import spectrogram_figure
from convkit.audio.folders import has_test_split, is_audio_folder, open_audio_dataset
from convkit.audio.preprocessing import AudioPreprocessing
from convkit.audio.specaugment import SpecAugment

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioBatchSource",
    "AudioDataset",
    "AudioPreprocessing",
    "AudioScanReport",
    "SpecAugment",
    "audio_preprocessing_for",
    "has_test_split",
    "is_audio_folder",
    "load_mono",
    "make_audio_batches",
    "open_audio_dataset",
    "read_audio",
    "resample",
    "spectrogram_figure",
]
