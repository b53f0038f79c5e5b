"""Edited, crafted and garbage model files (issue 15, item 5) and the two fuzzers.

Edits to the header are refused by its checksum; crafted headers (checksum
recomputed) by the schema and size checks, before anything is built; a
512 MB garbage file after reading its first 8 bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from convkit.errors import ModelFileError
from convkit.modelfile import METADATA_KEY, load_model
from fuzz_cases import rewrite_header
from hostile_helpers import assert_one_line_error, run_fenced

FUZZ = Path(__file__).resolve().parent / "fuzz_cases.py"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    from convkit.classify.task import ClassifyTask
    from convkit.data import Preprocessing
    from convkit.modelfile import save_model
    from convkit.nn import build
    from convkit.spec import NetSpec

    spec = NetSpec.from_dict(
        {
            "input": "12x12x1",
            "layers": [
                {"conv2d": {"filters": 4, "kernel": 3, "activation": "relu"}},
                {"max_pool": {"kernel": 2, "stride": 2}},
                {"dense": {"units": 8}},
                {"output": {"classes": 10}},
            ],
        }
    )
    task = ClassifyTask(10, labels=[str(i) for i in range(10)], input_channels=1)
    path = tmp_path_factory.mktemp("model") / "small.convkit"
    return save_model(
        path, build(spec), task=task, preprocessing=Preprocessing.for_spec(spec).to_dict()
    )


def document_of(path: Path) -> dict:
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    return json.loads(json.loads(data[8 : 8 + length])["__metadata__"][METADATA_KEY])


def edited(model_file: Path, tmp_path: Path, change, recompute: bool) -> Path:
    document = document_of(model_file)
    out = tmp_path / "edited.convkit"
    new = change(json.loads(json.dumps(document)))
    out.write_bytes(rewrite_header(model_file.read_bytes(), new, recompute))
    return out


def relu_to_tanh(document):
    document["spec"]["layers"][0]["activation"] = "tanh"
    return document


def test_an_edited_activation_is_refused_by_the_header_checksum(model_file, tmp_path):
    with pytest.raises(ModelFileError, match="header does not match its checksum"):
        load_model(edited(model_file, tmp_path, relu_to_tanh, recompute=False))


def _set(path: list, value):
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return document

    return change


def _drop(key):
    def change(document):
        del document[key]
        return document

    return change


CRAFTED = {
    "a list": (lambda d: [d], "not a JSON object"),
    "a string": (lambda d: "convkit", "not a JSON object"),
    "format_version string": (_set(["format_version"], "2"), "format_version"),
    "format_version null": (_set(["format_version"], None), "format_version"),
    "no spec": (_drop("spec"), "`spec`"),
    "no task": (_drop("task"), "`task`"),
    "no preprocessing": (_drop("preprocessing"), "`preprocessing`"),
    "2 labels for 10": (_set(["task", "labels"], ["a", "b"]), "2 labels for 10"),
    "3 channels for 1": (_set(["preprocessing", "channels"], 3), "3-channel"),
    "100000x100000 input": (_set(["spec", "input"], "100000x100000x1"), "GB|parameters but"),
    "fewer filters": (_set(["spec", "layers", 0, "filters"], 2), "do not fit the stored spec"),
    "10^9 filters": (
        _set(["spec", "layers", 0, "filters"], 10**9),
        "parameters but the file holds",
    ),
}


def test_crafted_headers_are_refused_before_building(model_file, tmp_path):
    """Checksum recomputed, so only the schema and size checks stand in the way.

    All cases in one fenced child (a regression would allocate 100 GB), loading
    each file and printing how it ended.
    """
    paths = {}
    for number, (case, (change, _)) in enumerate(CRAFTED.items()):
        paths[case] = tmp_path / f"crafted{number}.convkit"
        edited(model_file, tmp_path, change, recompute=True).rename(paths[case])
    script = tmp_path / "probe.py"
    script.write_text(
        "import json, sys\n"
        "from convkit.modelfile import load_model\n"
        "from convkit.errors import ConvkitError\n"
        "results = {}\n"
        "for case, path in json.loads(sys.argv[1]).items():\n"
        "    try:\n        load_model(path)\n        results[case] = 'LOADED'\n"
        "    except ConvkitError as error:\n        results[case] = type(error).__name__ + ': ' + str(error)\n"
        "print(json.dumps(results))\n"
    )
    outcome = run_fenced(
        [str(script), json.dumps({k: str(v) for k, v in paths.items()})],
        module=False,
        timeout=60,
        memory=2 * 1024**3,
    )
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    results = json.loads(outcome.stdout)
    for case, (_, fragment) in CRAFTED.items():
        message = results[case]
        assert message.startswith("ModelFileError: "), (case, message)
        assert "\n" not in message and len(message) < 600, (case, message)
        assert any(part in message for part in fragment.split("|")), (case, message)


def test_cli_names_an_edited_model_file_in_one_line(model_file, tmp_path):
    path = edited(model_file, tmp_path, relu_to_tanh, recompute=False)
    outcome = run_fenced(["predict", str(path), str(path)], timeout=60)
    assert_one_line_error(outcome, "has been modified")


def test_a_garbage_file_is_refused_from_its_first_bytes(tmp_path):
    garbage = tmp_path / "garbage.convkit"
    with open(garbage, "wb") as stream:
        stream.write(b"\x00\x00\x00\x10" + bytes(range(256)) * 4)
        stream.truncate(512 * 1024 * 1024)  # sparse: no disk used, 512 MB to a reader
    script = tmp_path / "probe.py"
    script.write_text(
        "import resource, sys\n"
        "import safetensors.torch, torch\n"  # imported first: their own memory is not at issue
        "from convkit.modelfile import load_model\n"
        "from convkit.errors import ModelFileError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    load_model(sys.argv[1])\nexcept ModelFileError as error:\n    print(error)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    outcome = run_fenced([str(script), str(garbage)], module=False, timeout=60)
    message, grown = outcome.stdout.strip().splitlines()
    assert "not a convkit model file" in message
    assert int(grown) < 64, f"read {grown} MiB of garbage before refusing it"


def test_spec_fuzzer_finds_only_clean_errors():
    outcome = run_fenced([str(FUZZ), "specs", "15", "400"], module=False, timeout=120)
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    result = json.loads(outcome.stdout)
    assert result["failures"] == [], result
    assert result["cases"] == 400 and len(result["outcomes"]) >= 2  # both ok and refused


def test_header_fuzzer_finds_only_clean_errors(model_file):
    outcome = run_fenced(
        [str(FUZZ), "headers", str(model_file), "15", "300"], module=False, timeout=120
    )
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    result = json.loads(outcome.stdout)
    assert result["failures"] == [], result
    assert result["cases"] == 300


del sys
