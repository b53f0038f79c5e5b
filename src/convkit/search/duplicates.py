"""Near-duplicate photos: groups linked by neighbour pairs above a similarity threshold.

Each photo asks the index for its nearest neighbours; every pair at or above
the threshold is a link, and union-find merges links into groups. A chain
A~B~C lands in one group even if A and C are slightly below the threshold,
which is what "the same photo, re-encoded several times" looks like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convkit.errors import UsageError
from convkit.search.index_file import SearchIndex

DEFAULT_THRESHOLD = 0.98  # benchmarks/search_quality.py: precision >= 0.95 from here up
NEIGHBOURS = 16  # links looked for per photo; groups can still grow larger through chains


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


def find_duplicates(
    index: SearchIndex | str,
    threshold: float = DEFAULT_THRESHOLD,
    neighbours: int = NEIGHBOURS,
) -> list[DuplicateGroup]:
    """Groups of two or more photos whose vectors are at least ``threshold`` similar.

    Groups are sorted largest first; paths within a group keep index order.
    """
    if not -1.0 <= threshold <= 1.0:
        raise UsageError(f"threshold is a cosine similarity in [-1, 1]. Received: {threshold}")
    if not isinstance(index, SearchIndex):
        index = SearchIndex.load(index)
    if len(index) < 2:
        return []
    similarities, rows = index.neighbours(index.vectors, neighbours + 1)  # (N, k) each
    links = UnionFind(len(index))
    weakest: dict[tuple[int, int], float] = {}
    for row in range(len(index)):
        for score, other in zip(similarities[row], rows[row], strict=True):
            if other < 0 or other == row or score < threshold:
                continue
            links.union(row, int(other))
            pair = (min(row, int(other)), max(row, int(other)))
            weakest[pair] = float(score)
    members: dict[int, list[int]] = {}
    for row in range(len(index)):
        members.setdefault(links.find(row), []).append(row)
    weakest_in_group: dict[int, float] = {}
    for (first, _), score in weakest.items():
        root = links.find(first)
        weakest_in_group[root] = min(score, weakest_in_group.get(root, 1.0))
    groups = [
        DuplicateGroup([index.paths[r] for r in rows_in_group], weakest_in_group[root])
        for root, rows_in_group in members.items()
        if len(rows_in_group) > 1
    ]
    groups.sort(key=lambda group: (-len(group.paths), group.paths[0]))
    return groups
