"""OCR text pieces: alphabet, labels from names and tables, metrics, CTC decoding."""

from __future__ import annotations

import math

import pytest
import torch

from convkit.errors import DataError, SpecError
from convkit.ocr.alphabet import Alphabet, ctc_min_steps, resolve_alphabet
from convkit.ocr.decoding import (
    beam_decode_one,
    collapse,
    decode_lines,
    greedy_decode,
    text_probability,
)
from convkit.ocr.labels import find_labelled_images, label_from_filename
from convkit.ocr.text_metrics import edit_distance, text_scores

# -- alphabet --------------------------------------------------------------------------


def test_alphabet_encodes_one_based_and_decodes_skipping_blank():
    alphabet = Alphabet("abc")
    assert alphabet.num_classes == 4
    assert alphabet.encode("cab") == [3, 1, 2]
    assert alphabet.decode([3, 0, 1, 2]) == "cab"


def test_alphabet_names_unknown_characters():
    alphabet = Alphabet("0123456789")
    assert alphabet.unknown("12a4b") == "ab"
    with pytest.raises(DataError, match=r"label '12a' holds 'a'"):
        alphabet.encode("12a")


@pytest.mark.parametrize("symbols, message", [("aba", "'a' more than once"), ("", "non-empty")])
def test_alphabet_rejects_bad_symbols(symbols, message):
    with pytest.raises(SpecError, match=message):
        Alphabet(symbols)


def test_presets_resolve_and_literals_pass_through():
    assert resolve_alphabet("digits") == "0123456789"
    assert resolve_alphabet("xyz") == "xyz"


@pytest.mark.parametrize("text, steps", [("abc", 3), ("hello", 6), ("aaa", 5), ("", 0)])
def test_ctc_needs_a_blank_between_repeats(text, steps):
    assert ctc_min_steps(text) == steps


# -- labels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, label",
    [("abc12.png", "abc12"), ("abc12_3.png", "abc12"), ("x_y.jpg", "x_y"), ("7_0_12.png", "7_0")],
)
def test_label_from_filename_drops_duplicate_counter(name, label):
    assert label_from_filename(f"/data/{name}") == label


def test_folder_of_named_images(tmp_path):
    for name in ("b2.png", "a1.png", "a1_1.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    pairs = find_labelled_images(tmp_path)
    assert [(p.name, t) for p, t in pairs] == [
        ("a1.png", "a1"),
        ("a1_1.png", "a1"),
        ("b2.png", "b2"),
    ]


def test_tsv_table_inside_folder_wins(tmp_path):
    (tmp_path / "0.png").write_bytes(b"x")
    (tmp_path / "labels.tsv").write_text("path\ttext\n0.png\thello world\n")
    assert [(p.name, t) for p, t in find_labelled_images(tmp_path)] == [("0.png", "hello world")]


def test_csv_table_without_header_keeps_quoted_commas(tmp_path):
    table = tmp_path / "lines.csv"
    table.write_text('img/1.png,"a,b"\nimg/2.png,xyz\n\n')
    pairs = find_labelled_images(table)
    assert [(str(p.relative_to(tmp_path)), t) for p, t in pairs] == [
        ("img/1.png", "a,b"),
        ("img/2.png", "xyz"),
    ]


def test_table_row_with_one_column_is_a_clear_error(tmp_path):
    table = tmp_path / "lines.csv"
    table.write_text("a.png,abc\nb.png\n")
    with pytest.raises(DataError, match=r"row 2: expected 2 columns"):
        find_labelled_images(table)


def test_empty_folder_and_missing_path(tmp_path):
    with pytest.raises(DataError, match="no images"):
        find_labelled_images(tmp_path)
    with pytest.raises(DataError, match="not found"):
        find_labelled_images(tmp_path / "nope")


# -- metrics -----------------------------------------------------------------------------


def test_edit_distance():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance(["a", "b"], ["a", "b"]) == 0


def test_text_scores_sum_over_the_set():
    scores = text_scores(["hello world", "abc"], ["hallo world", "abc"])
    assert scores["cer"] == pytest.approx(1 / 14)
    assert scores["wer"] == pytest.approx(1 / 3)
    assert scores["exact_match"] == 0.5


# -- decoding ------------------------------------------------------------------------------


def _path_logits(path: list[int], classes: int, sure: float = 10.0) -> torch.Tensor:
    """Logits (1, T, K) that make ``path`` the clear best alignment."""
    logits = torch.zeros(1, len(path), classes)
    for step, index in enumerate(path):
        logits[0, step, index] = sure
    return logits


def test_collapse_merges_repeats_then_drops_blanks():
    assert collapse([1, 1, 0, 1, 2, 2, 0]) == [1, 1, 2]


def test_greedy_reads_repeated_letters_split_by_blank():
    alphabet = Alphabet("helo")
    path = [1, 1, 2, 3, 0, 3, 3, 4, 0]  # h h e l - l l o -
    result = decode_lines(_path_logits(path, 5), alphabet)
    assert result[0]["text"] == "hello"
    assert result[0]["confidence"] > 0.99


def test_beam_search_finds_the_text_greedy_misses():
    # Two steps; P(a)=0.4, P(blank)=0.6 at each. The best single path is "--" (empty,
    # 0.36), but "a" collects a- -a aa = 0.24 + 0.24 + 0.16 = 0.64.
    probs = torch.tensor([[[0.6, 0.4], [0.6, 0.4]]])
    log_probs = probs.log()
    assert greedy_decode(log_probs) == [[]]
    assert beam_decode_one(log_probs[0].numpy(), beam=4) == [1]
    result = decode_lines(log_probs, Alphabet("a"), beam=4)[0]
    assert result["text"] == "a"
    assert result["confidence"] == pytest.approx(0.64, abs=1e-5)


def test_beam_reading_is_never_less_probable_than_greedy():
    torch.manual_seed(0)
    logits = torch.randn(4, 30, 6) * 6
    log_probs = logits.log_softmax(-1)
    greedy = greedy_decode(log_probs)
    for line, best in zip(log_probs, greedy, strict=True):
        beam = beam_decode_one(line.numpy(), beam=16)
        # The beam's text is at least as probable as the greedy one.
        [p_beam] = text_probability(line[None], [beam])
        [p_greedy] = text_probability(line[None], [best])
        assert p_beam >= p_greedy - 1e-6


def test_text_probability_sums_alignments():
    probs = torch.tensor([[[0.6, 0.4], [0.6, 0.4]]])
    [p_empty] = text_probability(probs.log(), [[]])
    [p_a] = text_probability(probs.log(), [[1]])
    [p_aa] = text_probability(probs.log(), [[1, 1]])  # needs 3 steps: impossible in 2
    assert (p_empty, p_a, p_aa) == (pytest.approx(0.36), pytest.approx(0.64), 0.0)
    assert math.isclose(p_empty + p_a, 1.0, rel_tol=1e-5)


def test_wide_beam_finds_the_most_probable_text_by_brute_force():
    import itertools

    torch.manual_seed(3)
    for _ in range(5):
        log_probs = (torch.randn(4, 3) * 2).log_softmax(-1)  # T=4 steps, blank + 2 symbols
        totals: dict[tuple, float] = {}
        for path in itertools.product(range(3), repeat=4):
            p = math.exp(sum(float(log_probs[t, c]) for t, c in enumerate(path)))
            text = tuple(collapse(path))
            totals[text] = totals.get(text, 0.0) + p
        best_text = max(totals, key=totals.get)
        assert tuple(beam_decode_one(log_probs.numpy(), beam=50)) == best_text
        [p] = text_probability(log_probs[None], [list(best_text)])
        assert p == pytest.approx(totals[best_text], abs=1e-5)
