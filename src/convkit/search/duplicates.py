"""Near-duplicate photos: find candidate pairs by embedding, confirm them pixel by pixel, group.

1. Candidates: each photo asks the index for its nearest neighbours; a pair
   whose embeddings are at least ``candidates_above`` similar is a candidate.
   Embeddings are good at this step (a copy is nearly always among a photo's
   16 nearest) and bad at the decision: they make every photo of a kind
   alike, so two different sevens look as close as a photo and its copy.
2. Verification (``verify.py``): the two photos are aligned pixel by pixel and
   correlated; a pair at or above ``threshold`` is a link.
3. Groups, by average linkage: links are taken strongest first; a link that
   would merge two groups does so only if the photos of one match those of
   the other *on average* at least ``threshold - GROUP_MARGIN``. A chain of
   re-encodings A~B~C still lands in one group when A and C are slightly
   below the threshold, but one look-alike no longer fuses two groups of
   copies into one (single linkage did; on planted MNIST copies this lifted
   precision from 0.88 to 0.98 at equal recall).

Without verification (``verify=False``, or an index whose photos are not on
this machine), step 2 is skipped: ``threshold`` and the group check apply to
the embeddings' cosine similarity instead.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from convkit.errors import DataError, UsageError
from convkit.search.index_file import SearchIndex
from convkit.search.verify import load_thumbnail, pixel_similarity

# benchmarks/search_quality.py on planted digit and photo copies (docs/search.md):
DEFAULT_THRESHOLD = 0.9825  # aligned-pixel correlation that makes a copy
GROUP_MARGIN = 0.005  # a merge needs mean similarity across the two groups >= threshold - this
MAX_GROUP_COMPARISONS = 256  # cross pairs compared (a fixed sample beyond that) per merge
EMBEDDING_THRESHOLD = 0.98  # embedding cosine that makes a copy when not verifying
CANDIDATES_ABOVE = 0.9  # embedding cosine below which a pair is never checked
PAIRS_PER_TASK = 256  # candidate pairs a worker thread checks at a time
NEIGHBOURS = 16  # candidates looked for per photo; groups can still grow larger through chains


@dataclass
class DuplicateGroup:
    paths: list[str]
    min_similarity: float  # weakest link that joined the group

    def to_dict(self) -> dict:
        return {"paths": self.paths, "min_similarity": round(self.min_similarity, 6)}


class UnionFind:
    def __init__(self, size: int):
        self.parent = np.arange(size)

    def find(self, item: int) -> int:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return int(root)

    def union(self, first: int, second: int) -> None:
        first, second = self.find(first), self.find(second)
        if first != second:
            self.parent[max(first, second)] = min(first, second)


@dataclass
class DuplicateReport:
    groups: list[DuplicateGroup]  # largest first
    verified: bool  # pixel-checked, or embeddings alone
    threshold: float
    pairs_checked: int  # candidate pairs compared
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, why): not checked


def find_duplicates(
    index: SearchIndex | str | os.PathLike,
    threshold: float | None = None,
    *,
    verify: bool = True,
    candidates_above: float = CANDIDATES_ABOVE,
    neighbours: int = NEIGHBOURS,
    progress: bool = False,
) -> DuplicateReport:
    """Groups of two or more near-identical photos of ``index``.

    ``threshold`` defaults to DEFAULT_THRESHOLD (verified) or EMBEDDING_THRESHOLD.
    With ``verify`` the photo files are read again; unreadable ones are listed
    in the report and left out of every group. Paths within a group keep
    index order.
    """
    if threshold is None:
        threshold = DEFAULT_THRESHOLD if verify else EMBEDDING_THRESHOLD
    for name, value in (("threshold", threshold), ("candidates_above", candidates_above)):
        if not -1.0 <= value <= 1.0:
            raise UsageError(f"{name} is a similarity in [-1, 1]. Received: {value}")
    if neighbours < 1:
        raise UsageError(f"neighbours must be at least 1. Received: {neighbours}")
    if not isinstance(index, SearchIndex):
        index = SearchIndex.load(index)
    report = DuplicateReport([], verify, threshold, 0)
    if len(index) < 2:
        return report
    floor = candidates_above if verify else threshold
    candidates = _candidate_pairs(index, neighbours, floor)
    report.pairs_checked = len(candidates)
    if verify:
        thumbnails = _thumbnails(index.paths, candidates, report, progress)
        links = _verified_links(thumbnails, candidates, threshold, progress)
        similarity = _CachedSimilarity(thumbnails, links)
    else:
        links = {pair: score for pair, score in candidates.items() if score >= threshold}
        similarity = lambda first, second: float(index.vectors[first] @ index.vectors[second])  # noqa: E731
    report.groups = _average_linkage(index.paths, links, similarity, threshold - GROUP_MARGIN)
    return report


def _candidate_pairs(index: SearchIndex, neighbours: int, floor: float) -> dict:
    """{(row, other): embedding similarity} for neighbour pairs at or above ``floor``."""
    similarities, rows = index.neighbours(index.vectors, neighbours + 1)  # (N, k) each
    pairs: dict[tuple[int, int], float] = {}
    for row in range(len(index)):
        for score, other in zip(similarities[row], rows[row], strict=True):
            if other < 0 or other == row or score < floor:
                continue
            pairs[(min(row, int(other)), max(row, int(other)))] = float(score)
    return pairs


def _thumbnails(paths, candidates, report, progress) -> dict:
    """{row: Thumbnail} for every photo in a candidate pair; unreadable ones go to the report."""
    from tqdm.auto import tqdm

    needed = sorted({row for pair in candidates for row in pair})

    def load(row):
        try:
            return row, load_thumbnail(paths[row]), None
        except DataError as error:
            return row, None, str(error)

    thumbnails = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # decoding frees the GIL
        loaded = pool.map(load, needed)
        for row, thumbnail, why in tqdm(
            loaded, total=len(needed), desc="reading photos", unit="photo", disable=not progress
        ):
            if thumbnail is None:
                report.unreadable.append((paths[row], why))
            else:
                thumbnails[row] = thumbnail
    if needed and not thumbnails:
        _, why = report.unreadable[0]
        raise DataError(
            f"cannot check duplicates: none of the {len(needed)} candidate photos can be read "
            f"(first: {why}); run where the photos are, or pass --no-verify "
            "(Python: verify=False) to group by embeddings alone"
        )
    return thumbnails


def _verified_links(thumbnails, candidates, threshold, progress) -> dict:
    import cv2
    from tqdm.auto import tqdm

    checkable = [pair for pair in candidates if pair[0] in thumbnails and pair[1] in thumbnails]
    chunks = [
        checkable[start : start + PAIRS_PER_TASK]
        for start in range(0, len(checkable), PAIRS_PER_TASK)
    ]

    def scores(chunk):
        return [pixel_similarity(thumbnails[first], thumbnails[second]) for first, second in chunk]

    links = {}
    # OpenCV's own threads only add overhead on thumbnails; one pair per thread instead
    # (its functions release the GIL): 1.5x faster on two cores.
    opencv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with (
            ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool,
            tqdm(
                total=len(checkable), desc="comparing pairs", unit="pair", disable=not progress
            ) as bar,
        ):
            for chunk, chunk_scores in zip(chunks, pool.map(scores, chunks), strict=True):
                for pair, score in zip(chunk, chunk_scores, strict=True):
                    if score >= threshold:
                        links[pair] = score
                bar.update(len(chunk))
    finally:
        cv2.setNumThreads(opencv_threads)
    return links


class _CachedSimilarity:
    """Pixel similarity of any two rows, reusing the scores already computed."""

    def __init__(self, thumbnails: dict, known: dict):
        self.thumbnails = thumbnails
        self.known = dict(known)

    def __call__(self, first: int, second: int) -> float:
        pair = (min(first, second), max(first, second))
        if pair not in self.known:
            self.known[pair] = pixel_similarity(self.thumbnails[pair[0]], self.thumbnails[pair[1]])
        return self.known[pair]


def _average_linkage(paths, links: dict, similarity, merge_floor: float) -> list[DuplicateGroup]:
    """Merge along links, strongest first, while the merged groups stay alike on average."""
    union = UnionFind(len(paths))
    members: dict[int, list[int]] = {}
    weakest: dict[int, float] = {}
    sampler = np.random.default_rng(0)  # same answer on every run
    for (first, second), score in sorted(links.items(), key=lambda item: -item[1]):
        first_root, second_root = union.find(first), union.find(second)
        if first_root == second_root:
            continue
        group_a = members.get(first_root, [first_root])
        group_b = members.get(second_root, [second_root])
        if len(group_a) * len(group_b) > 1:
            cross = [(a, b) for a in group_a for b in group_b]
            if len(cross) > MAX_GROUP_COMPARISONS:
                picked = sampler.choice(len(cross), MAX_GROUP_COMPARISONS, replace=False)
                cross = [cross[n] for n in picked]
            if np.mean([similarity(a, b) for a, b in cross]) < merge_floor:
                continue
        union.union(first_root, second_root)
        root = union.find(first_root)
        members[root] = group_a + group_b
        weakest[root] = min(score, weakest.pop(first_root, 1.0), weakest.pop(second_root, 1.0))
        for old in (first_root, second_root):
            if old != root:
                members.pop(old, None)
    groups = [
        DuplicateGroup([paths[row] for row in sorted(rows)], weakest[root])
        for root, rows in members.items()
    ]
    groups.sort(key=lambda group: (-len(group.paths), group.paths[0]))
    return groups
