"""Recordings as a dataset: labels from folders or names, splits, bad files, batches."""

from __future__ import annotations

import numpy as np
import pytest

from convkit.audio import (
    AudioPreprocessing,
    SpecAugment,
    has_test_split,
    make_audio_batches,
    open_audio_dataset,
    read_audio,
)
from convkit.audio.naming import LabelPattern, SplitCondition
from convkit.errors import DataError, UsageError

RATE = 8000


def write_tone(path, hz=440.0, seconds=0.3, rate=RATE, amplitude=0.4):
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(str(path), (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)
    return path


@pytest.fixture()
def class_folders(tmp_path):
    """yes/ and no/ with three clips each, at two sample rates and lengths."""
    for label, hz in (("yes", 500.0), ("no", 1500.0)):
        (tmp_path / label).mkdir()
        for k in range(3):
            write_tone(tmp_path / label / f"{k}.wav", hz, 0.2 + 0.3 * k, rate=(8000, 16000)[k % 2])
    return tmp_path


@pytest.fixture()
def broken_folder(tmp_path):
    """FSDD-named good clips plus one of each kind of bad file."""
    for digit in range(3):
        for index in range(4):
            write_tone(tmp_path / f"{digit}_amy_{index}.wav", 300.0 + 400 * digit)
    good = (tmp_path / "0_amy_0.wav").read_bytes()
    (tmp_path / "1_bob_0.wav").write_bytes(b"")  # empty
    (tmp_path / "1_bob_1.wav").write_bytes(b"this is a text file, not a recording\n" * 20)
    (tmp_path / "1_bob_2.wav").write_bytes(good[:30])  # truncated inside the header
    write_tone(tmp_path / "2_bob_1.wav", amplitude=0.0)  # silent
    return tmp_path


def test_label_pattern_and_split_condition():
    pattern = LabelPattern("{label}_{speaker}_{index}.wav")
    fields = pattern.parse("7_jackson_32.wav", "7_jackson_32")
    assert fields == {"label": "7", "speaker": "jackson", "index": "32"}
    assert pattern.parse("notes.wav", "notes") is None
    assert SplitCondition("index<5", pattern.fields).holds({**fields, "index": "4"})
    assert not SplitCondition("index<5", pattern.fields).holds(fields)  # 32 >= 5, as numbers
    both = SplitCondition("speaker==jackson and index>=30", pattern.fields)
    assert both.holds(fields) and not both.holds({**fields, "speaker": "theo"})
    with pytest.raises(UsageError, match="must contain {label}"):
        LabelPattern("{digit}_{speaker}.wav")
    with pytest.raises(UsageError, match="file names only give"):
        SplitCondition("take<5", pattern.fields)


def test_fsdd_naming_gives_its_official_split_and_says_so(fsdd_dir, capsys):
    from convkit.audio import folders

    folders._ANNOUNCED.clear()
    train = open_audio_dataset(fsdd_dir, "train")
    assert "official split" in capsys.readouterr().err
    assert open_audio_dataset(fsdd_dir, "train").notes == train.notes
    assert capsys.readouterr().err == ""  # said once per process, kept in `notes`
    test = open_audio_dataset(fsdd_dir, "test", {"quiet": True})
    assert (len(train), len(test)) == (2700, 300)
    assert train.classes == [str(d) for d in range(10)] == test.classes
    assert all(int(f["index"]) < 5 for f in test.fields)
    assert np.bincount(test.targets).tolist() == [30] * 10
    assert has_test_split(fsdd_dir) and has_test_split(fsdd_dir, {"test_where": "index<9"})
    by_speaker = open_audio_dataset(
        fsdd_dir, "test", {"test_where": "speaker==theo", "quiet": True}
    )
    assert len(by_speaker) == 500 and {f["speaker"] for f in by_speaker.fields} == {"theo"}


def test_class_folders_mixed_rates_and_lengths(class_folders):
    dataset = open_audio_dataset(class_folders, "all")
    assert dataset.classes == ["no", "yes"] and dataset.targets.tolist() == [0, 0, 0, 1, 1, 1]
    spectrogram, target = dataset.load(4)
    assert dataset.preprocessing.sample_rate == 8000  # the most common rate: 4 of 6 clips
    assert spectrogram.shape == (40, 100, 1) and spectrogram.dtype == np.float32
    assert target == 1 and "yes" in dataset.describe(4)
    report = dataset.scan(progress=False)
    assert report.sample_rates == {8000: 4, 16000: 2} and report.bad == []
    assert not has_test_split(class_folders)
    ordered = open_audio_dataset(class_folders, "all", {"classes": ["yes", "no", "maybe"]})
    assert ordered.classes == ["yes", "no", "maybe"] and ordered.targets.tolist()[:3] == [1, 1, 1]
    with pytest.raises(DataError, match=r"labels \['yes'\] are not among the model's classes"):
        open_audio_dataset(class_folders, "all", {"classes": ["no"]})
    assert len(open_audio_dataset(class_folders, "test", {"quiet": True})) == 6  # no split: all


def test_train_and_test_folders_are_the_splits(tmp_path):
    for split, count in (("train", 3), ("test", 1)):
        for label in ("up", "down"):
            (tmp_path / split / label).mkdir(parents=True)
            for k in range(count):
                write_tone(tmp_path / split / label / f"{k}.wav")
    (tmp_path / "test" / "left").mkdir()  # a class seen only in test still orders both
    write_tone(tmp_path / "test" / "left" / "0.wav")
    train = open_audio_dataset(tmp_path, "train")
    test = open_audio_dataset(tmp_path, "test")
    assert train.classes == test.classes == ["down", "left", "up"]
    assert (len(train), len(test)) == (6, 3) and has_test_split(tmp_path)
    assert all("train" in str(p) for p in train.paths)
    with pytest.raises(DataError, match="has no val/ folder"):
        open_audio_dataset(tmp_path, "val")


def test_flat_folder_without_pattern_says_what_to_pass(tmp_path):
    write_tone(tmp_path / "hello.wav")
    with pytest.raises(DataError, match="pass label_pattern"):
        open_audio_dataset(tmp_path, "all")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .wav/.flac/.ogg recordings found"):
        open_audio_dataset(tmp_path / "empty", "all")
    with pytest.raises(DataError, match="not a folder of recordings"):
        open_audio_dataset(tmp_path / "missing", "all")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("1_bob_0.wav", "empty recording"),
        ("1_bob_1.wav", "not a readable WAV/FLAC/OGG"),
        ("1_bob_2.wav", "not a readable WAV/FLAC/OGG"),
        ("2_bob_1.wav", "silent recording"),
    ],
)
def test_bad_files_raise_data_errors_naming_the_file(broken_folder, name, reason):
    pre = AudioPreprocessing(sample_rate=RATE)
    with pytest.raises(DataError, match=reason) as error:
        pre.load(broken_folder / name)
    assert name in str(error.value)


def test_truncated_data_still_decodes_what_is_there(broken_folder):
    whole = (broken_folder / "0_amy_1.wav").read_bytes()
    samples, rate = read_audio(whole[: len(whole) // 2])  # header intact, half the samples
    assert rate == RATE and 0 < samples.size < 0.3 * RATE


def test_scan_and_batches_skip_and_report_bad_files(broken_folder):
    dataset = open_audio_dataset(broken_folder, "all", {"test_where": "index<1", "quiet": True})
    report = dataset.scan(progress=False)
    assert len(report.bad) == 4 and report.files == 12
    assert sorted(dataset.paths[i].name for i in report.bad_indices) == [
        "1_bob_0.wav",
        "1_bob_1.wav",
        "1_bob_2.wav",
        "2_bob_1.wav",
    ]
    with pytest.raises(DataError, match="strict data"):
        dataset.scan(strict=True, progress=False)
    # The batch source meets the bad files without a scan: it skips them and says why.
    batches = make_audio_batches(dataset, None, AudioPreprocessing(sample_rate=RATE), None, 5)
    seen = sum(len(targets) for _, targets in batches.epoch(0))
    assert seen == 12 and len(batches.skipped) == 4
    reasons = sorted(reason for _, reason in batches.skipped)
    assert reasons[0] == "empty recording (0 bytes)" and reasons[-1].startswith("silent recording")


def test_batches_are_deterministic_shardable_and_channels_last(broken_folder):
    import torch

    dataset = open_audio_dataset(broken_folder, "train", {"test_where": "index<1", "quiet": True})
    good = [i for i, p in enumerate(dataset.paths) if "amy" in p.name]
    pre = AudioPreprocessing(sample_rate=RATE, frames=30)
    source = make_audio_batches(dataset, good, pre, SpecAugment(), 4, shuffle=True, seed=3)
    assert len(source) == 3 and source.num_examples == 9
    first = [(x.clone(), y.clone()) for x, y in source.epoch(1)]
    again = list(source.epoch(1))
    for (x1, y1), (x2, y2) in zip(first, again, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert first[0][0].shape == (4, 1, 40, 30)
    assert first[0][0].is_contiguous(memory_format=torch.channels_last)
    other_epoch = torch.cat([x for x, _ in source.epoch(2)])
    assert not torch.equal(torch.cat([x for x, _ in first]), other_epoch)
    resumed = list(source.epoch(1, start=1))
    assert len(resumed) == 2 and torch.equal(resumed[0][0], first[1][0])
    parts = [source.shard(rank, 2) for rank in range(2)]
    assert sorted(parts[0].indices + parts[1].indices) == sorted(good)


def test_make_batches_hook_uses_specaugment_option_and_refuses_image_augment(class_folders):
    dataset = open_audio_dataset(
        class_folders, "all", {"specaugment": "on", "time_masks": 3, "quiet": True}
    )
    train = dataset.make_batches([0, 1, 2, 3], None, None, batch_size=2, shuffle=True, seed=0)
    val = dataset.make_batches([4, 5], None, None, batch_size=2, shuffle=False, seed=0)
    assert train.augment == SpecAugment(time_masks=3) and val.augment is None

    class ImageAugment:  # what `--augment flip` produces for images
        enabled = True

    with pytest.raises(UsageError, match="specaugment=on"):
        dataset.make_batches([0], None, ImageAugment(), batch_size=1, shuffle=True)
