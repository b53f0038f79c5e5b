"""Seeded fuzzers for specs and model-file headers, run as a fenced child by the tests.

``python fuzz_cases.py specs SEED COUNT`` / ``headers MODEL SEED COUNT`` prints
one JSON line: how many cases ran, how each ended, and any failure (an
exception that is not a ConvkitError, or a message longer than a line).
Run inside RLIMIT_AS by the caller, so a case that tries to allocate 100 GB
fails as a MemoryError (reported) instead of taking the machine.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path

from convkit.errors import ConvkitError

LENET = (Path(__file__).resolve().parents[1] / "examples" / "lenet.yaml").read_text()
# Values that break assumptions: types, signs, sizes, lengths.
WEIRD = [
    0,
    -1,
    1,
    2**31,
    10**9,
    10**20,
    1.5,
    float("nan"),
    "x",
    "",
    "1x1x1",
    None,
    True,
    [],
    [1],
    [0, 0],
    {},
    {"a": 1},
    "relu",
    "conv2d",
    "tanh",
    "9" * 50,
    "é" * 300,
]


def mutate(value, rng: random.Random, depth: int = 0):
    """A copy of a JSON-like value with one random change somewhere inside."""
    if isinstance(value, dict) and value and depth < 8:
        key = rng.choice(list(value))
        out = dict(value)
        roll = rng.random()
        if roll < 0.15:
            del out[key]
        elif roll < 0.25:
            out[rng.choice(["extra", "type", "kernel", "name", key + "_"])] = rng.choice(WEIRD)
        else:
            out[key] = mutate(value[key], rng, depth + 1)
        return out
    if isinstance(value, list) and value and depth < 8:
        out = list(value)
        index = rng.randrange(len(out))
        roll = rng.random()
        if roll < 0.15:
            del out[index]
        elif roll < 0.25:
            out.insert(index, rng.choice(out + WEIRD))
        else:
            out[index] = mutate(out[index], rng, depth + 1)
        return out
    return rng.choice(WEIRD)


def text_mutation(text: str, rng: random.Random) -> str:
    """Byte-level damage to YAML text: cut, duplicate, swap or insert characters."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(chars))
        roll = rng.random()
        if roll < 0.3:
            del chars[position : position + rng.randint(1, 20)]
        elif roll < 0.6:
            chars.insert(position, rng.choice(list("[]{}:&*!-,'\"\n\t #|>%@`") + ["&a ", "*a"]))
        else:
            chars[position] = rng.choice(list("0123456789x:[]{}\n "))
    return "".join(chars)


def run_case(action, outcomes: Counter, failures: list, label: str) -> None:
    try:
        action()
        outcomes["ok"] += 1
    except ConvkitError as error:
        message = str(error)
        outcomes[type(error).__name__] += 1
        if "\n" in message.strip() or len(message) > 600:
            failures.append(f"{label}: message of {len(message)} characters / lines")
    except Exception as error:  # the bug class this fuzzer hunts
        failures.append(f"{label}: {type(error).__name__}: {str(error)[:200]}")


def fuzz_specs(seed: int, count: int) -> dict:
    import yaml

    from convkit.spec import NetSpec

    rng = random.Random(seed)
    base = yaml.safe_load(LENET)
    outcomes, failures = Counter(), []
    for case in range(count):
        if case % 2:
            text = text_mutation(LENET, rng)
            run_case(
                lambda t=text: NetSpec.from_yaml(t).infer(), outcomes, failures, f"text {case}"
            )
        else:
            data = mutate(base, rng)
            run_case(
                lambda d=data: NetSpec.from_dict(d).infer(), outcomes, failures, f"dict {case}"
            )
    return {"cases": count, "outcomes": dict(outcomes), "failures": failures[:20]}


def rewrite_header(data: bytes, document, recompute: bool) -> bytes:
    from convkit.modelfile import METADATA_KEY, document_digest

    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    if recompute and isinstance(document, dict):
        document = {**document, "document_sha256": document_digest(document)}
    header["__metadata__"][METADATA_KEY] = json.dumps(document)
    body = json.dumps(header).encode()
    body += b" " * (-len(body) % 8)
    return len(body).to_bytes(8, "little") + body + data[8 + length :]


def fuzz_headers(model: str, seed: int, count: int) -> dict:
    import tempfile

    from convkit.modelfile import METADATA_KEY, load_model

    rng = random.Random(seed)
    data = Path(model).read_bytes()
    length = int.from_bytes(data[:8], "little")
    document = json.loads(json.loads(data[8 : 8 + length])["__metadata__"][METADATA_KEY])
    outcomes, failures = Counter(), []
    folder = Path(tempfile.mkdtemp(prefix="convkit-fuzz-"))
    target = folder / "fuzzed.convkit"
    for case in range(count):
        roll = rng.random()
        if roll < 0.2:  # raw byte damage in the header region
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                damaged[rng.randrange(0, 8 + length)] = rng.randrange(256)
            target.write_bytes(bytes(damaged))
        else:  # a schema mutation, checksum recomputed half the time (a crafted file)
            target.write_bytes(rewrite_header(data, mutate(document, rng), recompute=roll < 0.6))
        run_case(lambda: load_model(target), outcomes, failures, f"header {case}")
    target.unlink(missing_ok=True)
    folder.rmdir()
    return {"cases": count, "outcomes": dict(outcomes), "failures": failures[:20]}


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "specs":
        result = fuzz_specs(int(sys.argv[2]), int(sys.argv[3]))
    else:
        result = fuzz_headers(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print(json.dumps(result))
