"""Every from_dict speaks one vocabulary: an unknown key is refused with a did-you-mean.

A settings dict reaches convkit from model files, index files, YAML and
Python callers. A key nobody reads (``epoch`` for ``epochs``) used to be
raised, ignored, dropped or a TypeError depending on the class; now each
from_dict goes through ``convkit.spec.constraints.check_keys`` and says the
same one line. Each class also round-trips: ``from_dict(to_dict())`` (through
JSON, as a file stores it) gives the same object back.

Old files: every key any earlier version's ``to_dict`` wrote is still read
(checked against the history of each one; none was renamed or dropped), so
no legacy keys are needed yet. A future rename passes the old name to
``check_keys(..., legacy=…)`` so that files written before it still load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convkit.errors import ConvkitError, DataError, SpecError, UsageError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _spec(name: str):
    from convkit.spec import load_spec

    return load_spec(EXAMPLES / name)


def _task(name: str):
    from convkit.tasks import task_for_spec

    return task_for_spec(_spec(name))


def _netspec():
    return _spec("lenet.yaml")


def _classify():
    return _task("lenet.yaml")


def _detect():
    return _task("tinyyolo_scenes.yaml")


def _ocr():
    return _task("crnn.yaml")


def _detect_preprocessing():
    from convkit.detect.preprocess import DetectPreprocessing

    return DetectPreprocessing(48, 64, mean="imagenet", std="imagenet")


def _textline_preprocessing():
    from convkit.ocr.preprocess import TextLinePreprocessing

    return TextLinePreprocessing(32, channels=3, max_width=512)


def _audio_preprocessing():
    from convkit.audio import AudioPreprocessing

    return AudioPreprocessing(sample_rate=8000, n_mels=32, frames=50, f_max=3000.0)


def _spec_augment():
    from convkit.audio.specaugment import SpecAugment

    return SpecAugment(freq_masks=1, time_width=8, time_shift=0.1)


def _engine_settings():
    from convkit.search import EngineSettings

    return EngineSettings("hnsw", m=16, ef_search=64, recall_at_10=0.97, recall_queries=10)


def _augment():
    from convkit.data import Augment

    return Augment(crop_padding=4, flip=True, rotation=10.0, contrast=0.2)


def _preprocessing():
    from convkit.data import Preprocessing

    return Preprocessing(32, 24, 3, resize="center_crop", mean="imagenet", crop=0.875)


def _split_record():
    import numpy as np

    from convkit.data.split import SplitRecord

    return SplitRecord(
        "digits/", 10, "ab" * 32, 0, 0.2, np.array([3]), np.array([1, 7]), None, None, None
    )


def _from_dict(obj):
    from convkit.tasks import Task, task_from_dict

    if isinstance(obj, Task):
        return task_from_dict  # how a model file rebuilds it: by kind
    return type(obj).from_dict


# name -> (a typical object, a misspelt key, the key it should suggest, error class)
CASES = {
    "NetSpec": (_netspec, "layres", "layers", SpecError),
    "ClassifyTask": (_classify, "num_clases", "num_classes", UsageError),
    "DetectTask": (_detect, "anchor", "anchors", UsageError),
    "OcrTask": (_ocr, "alphabt", "alphabet", UsageError),
    "DetectPreprocessing": (_detect_preprocessing, "widht", "width", DataError),
    "TextLinePreprocessing": (_textline_preprocessing, "min_widht", "min_width", DataError),
    "AudioPreprocessing": (_audio_preprocessing, "n_mel", "n_mels", UsageError),
    "SpecAugment": (_spec_augment, "freq_mask", "freq_masks", UsageError),
    "EngineSettings": (_engine_settings, "nprobes", "nprobe", ConvkitError),
    "Augment": (_augment, "rotate", "rotation", DataError),
    "Preprocessing": (_preprocessing, "chanels", "channels", DataError),
    "SplitRecord": (_split_record, "vals", "val", DataError),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_to_dict_from_dict_round_trips_through_json(name):
    make, _, _, _ = CASES[name]
    obj = make()
    stored = json.loads(json.dumps(obj.to_dict()))  # what a model or index file holds
    again = _from_dict(obj)(stored)
    assert type(again) is type(obj)
    assert again.to_dict() == obj.to_dict()


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_unknown_key_is_refused_with_a_did_you_mean(name):
    make, typo, right, error = CASES[name]
    obj = make()
    stored = {**json.loads(json.dumps(obj.to_dict())), typo: 1}
    with pytest.raises(error) as caught:
        _from_dict(obj)(stored)
    message = str(caught.value)
    assert f"unknown key `{typo}` in " in message
    assert f"; did you mean `{right}`? (valid: " in message
    assert right in message.split("(valid: ")[1]  # the valid keys are listed
    assert "\n" not in message


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_settings_dict_must_be_a_mapping(name):
    make, _, _, error = CASES[name]
    obj = make()
    with pytest.raises(error, match="must be a mapping"):
        type(obj).from_dict([("kind", "x")])


@pytest.mark.parametrize(
    "name, missing",
    [
        ("ClassifyTask", "num_classes"),
        ("DetectTask", "stride"),
        ("OcrTask", "height"),
        ("DetectPreprocessing", "height"),
        ("TextLinePreprocessing", "height"),
        ("EngineSettings", "kind"),
        ("Preprocessing", "width"),
        ("SplitRecord", "targets_sha256"),
    ],
)
def test_a_missing_required_key_is_named(name, missing):
    make, _, _, error = CASES[name]
    obj = make()
    stored = {k: v for k, v in obj.to_dict().items() if k != missing}
    with pytest.raises(error, match=f"missing key `{missing}` in "):
        _from_dict(obj)(stored)


def test_every_from_dict_in_the_package_is_covered_here():
    """A new from_dict (outside TrainConfig, tested with the training settings) joins CASES."""
    import re

    source = Path(__file__).resolve().parents[1] / "src" / "convkit"
    owners = set()
    for path in source.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"def from_dict\(cls, [^)]*\) -> (\w+):", text):
            owners.add(match.group(1))
    assert owners - {"TrainConfig", "Task"} == set(CASES)


def test_a_model_file_with_an_unknown_task_key_is_refused_by_name(tmp_path):
    from convkit.errors import ModelFileError
    from convkit.modelfile import load_model, save_model
    from convkit.nn import build

    class Edited(type(_classify())):
        def to_dict(self):
            return {**super().to_dict(), "label": "7"}  # a hand-edited header, re-signed

    from convkit.data import Preprocessing

    spec = _netspec()
    task = Edited(num_classes=10, input_channels=1)
    path = save_model(
        tmp_path / "m.convkit",
        build(spec),
        task=task,
        preprocessing=Preprocessing.for_spec(spec).to_dict(),
    )
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    assert "unknown key `label` in the classify task; did you mean `labels`?" in str(caught.value)


def test_engine_settings_refuse_an_unknown_key_as_a_damaged_index():
    from convkit.search import EngineSettings
    from convkit.search.errors import IndexFileError

    with pytest.raises(IndexFileError, match="unknown key `ef` in the index's engine settings"):
        EngineSettings.from_dict({"kind": "exact", "ef": 3})
