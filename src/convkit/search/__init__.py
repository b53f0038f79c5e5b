"""Photo search: embed a folder with a model, index it (FAISS), query by example,
cluster, and find near-duplicates.

    from convkit import search
    index = search.build_index("runs/lenet/model.convkit", "photos/", "photos.cindex")
    for result in search.search(index, ["query.png"], top=5):
        print(result.query, [(m.path, m.similarity) for m in result.matches])
    groups = search.find_duplicates(index).groups   # near-copies, pixel-checked
    clusters = search.cluster(index)          # K chosen by silhouette

Importing this package is cheap: FAISS, torch and scikit-learn are imported
by the functions that use them.
"""

from convkit.search.cluster import ClusterResult, choose_k, cluster, write_cluster_outputs
from convkit.search.duplicates import DuplicateGroup, DuplicateReport, find_duplicates
from convkit.search.embed import ModelEmbedder, list_images
from convkit.search.engine import APPROXIMATE_ABOVE, EngineSettings
from convkit.search.errors import IndexFileError, ModelMismatchError, NoImagesError
from convkit.search.index_file import ModelSource, SearchIndex
from convkit.search.indexing import add_to_index, build_index, open_index, remove_from_index
from convkit.search.query import Match, QueryResult, search, search_vectors

__all__ = [
    "APPROXIMATE_ABOVE",
    "ClusterResult",
    "DuplicateGroup",
    "DuplicateReport",
    "EngineSettings",
    "IndexFileError",
    "Match",
    "ModelEmbedder",
    "ModelMismatchError",
    "ModelSource",
    "NoImagesError",
    "QueryResult",
    "SearchIndex",
    "add_to_index",
    "build_index",
    "choose_k",
    "cluster",
    "find_duplicates",
    "list_images",
    "open_index",
    "remove_from_index",
    "search",
    "search_vectors",
    "write_cluster_outputs",
]
