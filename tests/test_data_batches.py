"""make_batches: deterministic epochs, resume from a batch, shards, workers, bad files, collate."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from convkit.data import (
    ArrayDataset,
    Augment,
    BatchSource,
    FileBatches,
    InMemoryBatches,
    Preprocessing,
    make_batches,
    open_image_dataset,
)
from convkit.data.samples import make_photo_folder
from convkit.errors import DataError


def tiny_array_dataset(n=23, size=6) -> ArrayDataset:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(n)  # pixel (0, 0) tells which example this is
    return ArrayDataset(images, np.arange(n) % 3, ["a", "b", "c"])


RAW = Preprocessing(6, 6, 1, scale=1.0)  # keeps pixel values: x[:, 0, 0, 0] is the example id


def ids(x: torch.Tensor) -> list[int]:
    return x[:, 0, 0, 0].round().long().tolist()


def test_in_memory_epoch_is_a_permutation_in_channels_last():
    ds = tiny_array_dataset()
    source = make_batches(ds, None, RAW, None, batch_size=5, shuffle=True, seed=1, progress=False)
    assert isinstance(source, InMemoryBatches)
    assert len(source) == 5 and source.num_examples == 23
    batches = list(source.epoch(0))
    seen = [i for x, _ in batches for i in ids(x)]
    assert sorted(seen) == list(range(23)) and seen != list(range(23))
    x, y = batches[0]
    assert x.dtype == torch.float32 and x.shape == (5, 1, 6, 6) and y.dtype == torch.int64
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert y.tolist() == [i % 3 for i in ids(x)]
    other = [i for x, _ in source.epoch(1) for i in ids(x)]
    assert other != seen


def test_start_resumes_exactly_the_uninterrupted_epoch():
    ds = tiny_array_dataset()
    aug = Augment(crop_padding=1, flip=True, brightness=0.1)
    source = make_batches(ds, None, RAW, aug, batch_size=4, shuffle=True, seed=3, progress=False)
    full = list(source.epoch(2))
    tail = list(source.epoch(2, start=3))
    assert len(tail) == len(full) - 3
    for (xa, ya), (xb, yb) in zip(full[3:], tail, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_subset_indices_drop_last_and_no_shuffle():
    ds = tiny_array_dataset()
    source = make_batches(
        ds, [4, 9, 2, 7, 11], RAW, None, batch_size=2, shuffle=False, drop_last=True, progress=False
    )
    assert len(source) == 2 and source.num_examples == 4
    assert [ids(x) for x, _ in source.epoch(0)] == [[4, 9], [2, 7]]


def test_shards_are_disjoint_and_equal():
    ds = tiny_array_dataset()
    source = make_batches(ds, None, RAW, None, batch_size=3, shuffle=True, seed=0, progress=False)
    shards = [source.shard(rank, 3) for rank in range(3)]
    for epoch in (0, 1):
        parts = [[i for x, _ in shard.epoch(epoch) for i in ids(x)] for shard in shards]
        assert [len(p) for p in parts] == [7, 7, 7]
        assert len(set(parts[0]) | set(parts[1]) | set(parts[2])) == 21
    assert {len(s) for s in shards} == {3}
    with pytest.raises(DataError, match="need 0 <= rank < world_size"):
        source.shard(3, 3)


def test_resizing_array_data_to_the_network_input():
    ds = tiny_array_dataset()
    pre = Preprocessing(12, 10, 3, resize="stretch")
    x, _ = next(make_batches(ds, None, pre, None, batch_size=8, progress=False).epoch(0))
    assert x.shape == (8, 3, 12, 10) and x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x[:, 0], x[:, 2])  # grey repeated into RGB


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = make_photo_folder(tmp_path_factory.mktemp("photos"), per_class=6, corrupt=0, size=40)
    ds = open_image_dataset(folder)
    ds.scan(progress=False)
    return ds


PHOTO_PRE = Preprocessing(32, 32, 3, resize="center_crop", mean="imagenet", std="imagenet")


def test_workers_do_not_change_the_batches(photos):
    aug = Augment(crop_padding=4, flip=True, rotation=10, contrast=0.2)
    results = []
    for workers in (0, 2):
        source = make_batches(photos, None, PHOTO_PRE, aug, batch_size=5, seed=4, workers=workers)
        assert isinstance(source, FileBatches)
        results.append(list(source.epoch(1, start=1)))
    assert len(results[0]) == len(results[1]) == 2
    for (xa, ya), (xb, yb) in zip(results[0], results[1], strict=True):
        assert torch.equal(ya, yb) and torch.allclose(xa, xb)
        assert xa.shape[1:] == (3, 32, 32) and xa.is_contiguous(memory_format=torch.channels_last)


def test_file_backed_equals_in_memory_without_augmentation(photos):
    pre = Preprocessing(40, 40, 3)
    images = np.stack([photos.load(i)[0] for i in range(len(photos))])
    in_memory = ArrayDataset(images, photos.targets, photos.classes)
    a = list(make_batches(photos, None, pre, None, batch_size=4, seed=2).epoch(0))
    b = list(
        make_batches(in_memory, None, pre, None, batch_size=4, seed=2, progress=False).epoch(0)
    )
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert torch.equal(ya, yb) and torch.allclose(xa, xb)


def test_a_file_that_breaks_mid_training_is_skipped_and_recorded(tmp_path):
    folder = make_photo_folder(tmp_path, per_class=4, size=24)
    ds = open_image_dataset(folder)
    ds.scan(progress=False)
    victim = ds.paths[2]
    with open(victim, "r+b") as handle:  # damaged after the scan: training must not die
        handle.truncate(os.path.getsize(victim) // 3)
    source = make_batches(ds, None, PHOTO_PRE, None, batch_size=3, shuffle=False)
    sizes = [len(y) for _, y in source.epoch(0)]
    assert sum(sizes) == 7 and sizes[0] == 2
    assert source.skipped == [(victim, "truncated JPEG file (no end marker)")]
    list(source.epoch(1))
    assert len(source.skipped) == 1  # each file listed once


def test_custom_collate_gets_examples(photos):
    def collate(examples):
        inputs = torch.from_numpy(np.stack([x for x, _ in examples]))
        return inputs, [f"label-{t}" for _, t in examples]

    source = make_batches(
        photos, [0, 7], PHOTO_PRE, None, batch_size=2, shuffle=False, collate=collate
    )
    x, y = next(source.epoch(0))
    assert x.shape == (2, 3, 32, 32) and y == ["label-0", "label-1"]


def test_bad_arguments():
    ds = tiny_array_dataset()
    with pytest.raises(DataError, match="`batch_size` must be a positive whole number"):
        make_batches(ds, None, RAW, None, batch_size=0)
    with pytest.raises(DataError, match="indices must lie in 0..22"):
        make_batches(ds, [0, 40], RAW, None, batch_size=2)
    with pytest.raises(DataError, match="needs a preprocessing"):
        make_batches(ds, None, None)


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 60),
    batch_size=st.integers(1, 9),
    world_size=st.integers(1, 4),
    epoch=st.integers(0, 5),
    drop_last=st.booleans(),
)
def test_batch_order_properties(count, batch_size, world_size, epoch, drop_last):
    if count < world_size:
        return
    source = BatchSource(np.arange(count), batch_size, shuffle=True, seed=11, drop_last=drop_last)
    shards = [source.shard(rank, world_size) for rank in range(world_size)]
    seen = []
    for shard in shards:
        batches = shard.batch_positions(epoch)
        assert len(batches) == len(shard)  # len() is what epoch() yields
        assert sum(len(b) for b in batches) == shard.num_examples
        assert all(0 < len(b) <= batch_size for b in batches)
        for start in range(len(batches) + 1):
            resumed = shard.batch_positions(epoch, start)
            assert [b.tolist() for b in resumed] == [b.tolist() for b in batches[start:]]
        seen += [int(i) for b in batches for i in b]
    assert len(seen) == len(set(seen))  # ranks never share an example
    assert len({len(s) for s in shards}) == 1  # equal batch counts on every rank
