"""OCR data: generated lines, the pre-training scan, height normalising, padded batches."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from convkit.errors import DataError
from convkit.ocr.alphabet import Alphabet
from convkit.ocr.batching import TextLineBatches
from convkit.ocr.dataset import ReaderLimits, TextLineDataset
from convkit.ocr.generator import generate_text_lines, render_line
from convkit.ocr.preprocess import TextLinePreprocessing, pad_batch


@pytest.fixture(scope="module")
def lines_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("lines")
    generate_text_lines(out, 12, alphabet="digits", min_length=2, max_length=6, seed=3)
    return out


def test_generator_names_files_by_text_and_is_reproducible(lines_dir, tmp_path):
    names = sorted(p.name for p in lines_dir.glob("*.png"))
    assert len(names) == 12
    again = generate_text_lines(tmp_path, 12, alphabet="digits", min_length=2, max_length=6, seed=3)
    assert sorted(p.name for p, _ in again) == names
    for path, text in again:
        assert path.stem.split("_")[0] == text and text.isdigit() and 2 <= len(text) <= 6
        image = cv2.imread(str(path))
        assert image.shape[0] == 32 and image.shape[1] > 8 * len(text)


def test_generator_writes_a_table_when_symbols_are_unsafe_in_names(tmp_path):
    pairs = generate_text_lines(tmp_path, 4, alphabet="a/b c", seed=0)
    rows = (tmp_path / "labels.tsv").read_text().splitlines()
    assert rows[0] == "path\ttext"
    assert rows[1:] == [f"{p.name}\t{t}" for p, t in pairs]
    assert all(t == t.strip() and "  " not in t for _, t in pairs)


def test_rendered_line_has_ink_in_the_middle():
    image = render_line("8888", np.random.default_rng(0))
    grey = image.mean(axis=2)
    middle, edge = grey[:, grey.shape[1] // 4 : -grey.shape[1] // 4], grey[:, :3]
    # Strokes differ from the paper: the text area varies more than the margin.
    assert middle.std() > 2 * edge.std()


def test_scan_reports_each_kind_of_unlearnable_line(tmp_path):
    wide = np.full((32, 120, 3), 255, np.uint8)
    narrow = np.full((32, 12, 3), 255, np.uint8)  # 12 px / 4 px per step = 3 steps
    for name, image in {"123.png": wide, "12a.png": wide, "1111.png": narrow}.items():
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "labels.csv").write_text(
        "123.png,123\n12a.png,12a\n1111.png,1111\nblank.png,\nbroken.png,77\n"
    )
    cv2.imwrite(str(tmp_path / "blank.png"), wide)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    dataset = TextLineDataset.open(tmp_path)
    dataset.reader = ReaderLimits(Alphabet("0123456789"), height=32, pixels_per_step=4.0)

    report = dataset.scan(progress=False)
    assert report.bad_indices == [1, 2, 3, 4]
    text = str(report)
    assert "4 of 5 text lines cannot be learned" in text
    assert "1 characters outside the alphabet [12a.png ('12a' has 'a')]" in text
    assert "1 empty labels" in text
    assert "1111.png (12x32 px gives 3 steps, '1111' needs 7)" in text
    assert "1 unreadable images" in text
    assert "set `alphabet: '0123456789a'`" in text
    with pytest.raises(DataError, match="4 of 5 text lines cannot be learned"):
        dataset.scan(strict=True, progress=False)


def test_targets_stratify_by_length_so_validation_is_not_empty(lines_dir):
    from convkit.data import stratified_split

    dataset = TextLineDataset.open(lines_dir)
    assert list(dataset.targets) == [len(t) for t in dataset.texts]
    _, val = stratified_split(dataset.targets, 0.2, seed=0)
    assert len(val) >= 1


def test_preprocessing_keeps_aspect_and_pads_short_lines():
    pre = TextLinePreprocessing(height=16, channels=1, min_width=10)
    wide = pre.apply(np.zeros((32, 100, 3), np.uint8))
    assert wide.shape == (1, 16, 50) and wide.dtype == np.float32
    assert wide.min() == -1.0  # black -> (0 - 0.5) / 0.5
    tiny = pre.apply(np.zeros((32, 8), np.uint8))
    assert tiny.shape == (1, 16, 10)
    assert TextLinePreprocessing.from_dict(pre.to_dict()).to_dict() == pre.to_dict()


def test_pad_batch_extends_each_line_with_its_last_column():
    a = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    b = np.ones((1, 2, 5), np.float32)
    batch, widths = pad_batch([a, b], multiple=4)
    assert batch.shape == (2, 1, 2, 8) and widths == [3, 5]
    assert (batch[0, 0, :, 3:] == a[0, :, 2:3]).all()


def test_batches_are_deterministic_and_carry_texts(lines_dir):
    dataset = TextLineDataset.open(lines_dir)
    pre = TextLinePreprocessing(32, 1)
    alphabet = Alphabet("0123456789")
    batches = TextLineBatches(dataset, range(12), pre, alphabet, batch_size=5, shuffle=True, seed=1)
    assert len(batches) == 3 and batches.num_examples == 12
    first = [t.texts for _, t in batches.epoch(0)]
    assert first == [t.texts for _, t in batches.epoch(0)]
    assert first != [t.texts for _, t in batches.epoch(1)]
    x, targets = next(batches.epoch(0))
    assert (
        x.shape[:3] == (5, 1, 32)
        and x.shape[3] == max(targets.widths.tolist()) + (-max(targets.widths.tolist())) % 4
    )
    assert targets.lengths.tolist() == [len(t) for t in targets.texts]
    assert alphabet.decode(targets.symbols.tolist()) == "".join(targets.texts)
    resumed = [t.texts for _, t in batches.epoch(0, start=2)]
    assert resumed == first[2:]
