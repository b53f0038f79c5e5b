"""`convkit index / search / cluster / duplicates`: photo search over a folder.

The handlers parse, call ``convkit.search`` and print; no logic lives here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from convkit.cli.common import add_verb
from convkit.errors import UsageError

INDEX_EPILOG = """\
examples:
  convkit index runs/lenet/model.convkit photos/ --out photos.cindex
  convkit index resnet18 photos/ --out photos.cindex      (after `convkit weights pull resnet18`)
  convkit index model.convkit photos/ --out photos.cindex --layer conv2
  convkit index model.convkit photos/ --out dupes.cindex --layer pool2 --pooling flatten
  convkit index model.convkit more_photos/ --out photos.cindex --add
  convkit index model.convkit --out photos.cindex --remove photos/old.png photos/trash/

The index file holds the vectors, the paths, the model's fingerprint and the
FAISS engine: exact search up to 50,000 photos, an approximate IVF index
above (or --engine hnsw); its recall@10 against exact search is measured and
printed. --add embeds only
photos not yet indexed; --remove drops files (or whole folders) without
re-embedding anything. Unreadable images are skipped and listed (exit 1).
"""

SEARCH_EPILOG = """\
examples:
  convkit search photos.cindex query.jpg
  convkit search photos.cindex a.png b.png --top 5 --sheet results.png
  convkit search photos.cindex query.jpg --json | jq .matches[0]

Similarity is the cosine of the two embeddings (1.0 = identical direction).
The model stored in the index embeds the queries; --model points at it if it
moved. A model other than the one that built the index is refused.
"""

CLUSTER_EPILOG = """\
examples:
  convkit cluster photos.cindex                 choose K by silhouette (2..12)
  convkit cluster photos.cindex --k 10 --out clusters/

Writes labels.csv (path, cluster), clusters.json (sizes, silhouettes), one
contact sheet per cluster (cluster_00.png …, largest first) and t-SNE maps:
map_clusters.png, and map_folders.png coloured by each photo's parent folder
when the folders look like labels.
"""

DUPLICATES_EPILOG = """\
examples:
  convkit duplicates photos.cindex
  convkit duplicates photos.cindex --threshold 0.99 --json > dupes.jsonl
  convkit duplicates moved.cindex --no-verify     photos not on this machine

How it decides: each photo's nearest neighbours in the index whose embeddings
are at least --candidates-above similar are candidates; each candidate pair
is then checked pixel by pixel (the second photo is aligned onto the first,
undoing a slight crop or resize, and the two are correlated). Pairs at least
--threshold alike are linked, and linked photos form groups (a chain of
re-encodings is one group, but a merely similar photo cannot fuse two groups).
Re-encoded, resized and slightly cropped copies score 0.98-1.0; lower the
threshold for harder edits at the risk of grouping look-alikes. Photos that
cannot be read are listed and left out (exit 1).
"""


INDEX_ABOUT = """\
embed a folder of photos with a model and index them for search

Embed every image under FOLDER with MODEL (the layer before the classifier
unless --layer) and write a search index.
"""

SEARCH_ABOUT = """\
find the indexed photos most similar to query images

Rank the photos of INDEX by similarity to each QUERY image.
"""

CLUSTER_ABOUT = """\
group indexed photos by similarity (k-means), with contact sheets and a map

Cluster the photos of INDEX with k-means on their embeddings.
"""

DUPLICATES_ABOUT = """\
find groups of near-identical photos in an index

Group the photos of INDEX that are near-copies of each other (re-encoded,
resized or slightly cropped).
"""


def register(subparsers) -> None:
    _register_index(subparsers)
    _register_search(subparsers)
    _register_cluster(subparsers)
    _register_duplicates(subparsers)


def _threads_option(parser) -> None:
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N", help="FAISS threads (default: all cores)"
    )


def _register_index(subparsers) -> None:
    parser = add_verb(subparsers, "index", INDEX_ABOUT, epilog=INDEX_EPILOG)
    parser.add_argument(
        "model",
        help="a .convkit model file, or a zoo name with imported weights (e.g. resnet18: "
        "pooled features of its last stage)",
    )
    parser.add_argument("folder", nargs="?", help="folder of photos (searched recursively)")
    parser.add_argument("--out", required=True, metavar="INDEX", help="the index file to write")
    parser.add_argument("--layer", help="layer to embed (default: the one before the classifier)")
    parser.add_argument(
        "--pooling",
        choices=["avg", "flatten"],
        default="avg",
        help="a feature-map layer (e.g. pool2) becomes a vector by averaging over H x W "
        "(avg, default) or by keeping every position (flatten: best for near-duplicates)",
    )
    parser.add_argument(
        "--runtime",
        choices=("auto", "onnx", "torch"),
        default="auto",
        help="what embeds: auto (default, ONNX Runtime for the default layer), onnx, torch",
    )
    change = parser.add_mutually_exclusive_group()
    change.add_argument("--add", action="store_true", help="add FOLDER's new photos to INDEX")
    change.add_argument(
        "--remove", nargs="+", metavar="PATH", help="remove these files or folders from INDEX"
    )
    parser.add_argument(
        "--engine",
        choices=["auto", "exact", "ivf", "hnsw"],
        default="auto",
        help="auto (default): exact up to 50,000 photos, IVF above",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    _threads_option(parser)
    parser.set_defaults(handler=run_index)


def _register_search(subparsers) -> None:
    parser = add_verb(subparsers, "search", SEARCH_ABOUT, epilog=SEARCH_EPILOG)
    parser.add_argument("index", help="an index file made by `convkit index`")
    parser.add_argument("queries", nargs="+", metavar="QUERY", help="query image files")
    parser.add_argument("--top", type=int, default=10, metavar="K", help="matches per query")
    parser.add_argument("--json", action="store_true", help="one JSON object per query")
    parser.add_argument("--sheet", metavar="PNG", help="draw each query beside its matches")
    parser.add_argument("--model", help="model file (default: the one stored in the index)")
    parser.add_argument(
        "--effort",
        type=int,
        metavar="N",
        help="approximate indexes only: IVF cells scanned (nprobe) or HNSW efSearch; "
        "higher = better recall, slower",
    )
    _threads_option(parser)
    parser.set_defaults(handler=run_search)


def _register_cluster(subparsers) -> None:
    parser = add_verb(subparsers, "cluster", CLUSTER_ABOUT, epilog=CLUSTER_EPILOG)
    parser.add_argument("index", help="an index file made by `convkit index`")
    parser.add_argument("--k", type=int, help="number of clusters (default: best silhouette)")
    parser.add_argument("--k-max", type=int, default=12, help="largest K tried when choosing")
    parser.add_argument("--out", help="output folder (default: INDEX name + _clusters)")
    parser.add_argument("--map-points", type=int, default=5000, help="photos drawn on the map")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print labels and sizes as JSON")
    parser.set_defaults(handler=run_cluster)


def _register_duplicates(subparsers) -> None:
    # No import of convkit.search here: it loads numpy, and every `convkit` command
    # (even `convkit summary`) builds this parser.
    parser = add_verb(subparsers, "duplicates", DUPLICATES_ABOUT, epilog=DUPLICATES_EPILOG)
    parser.add_argument("index", help="an index file made by `convkit index`")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="T",
        help="similarity that makes two photos duplicates: aligned-pixel correlation, "
        "or embedding cosine with --no-verify (defaults 0.9825 and 0.98; "
        "benchmarked in docs/search.md)",
    )
    parser.add_argument(
        "--candidates-above",
        type=float,
        default=None,
        metavar="C",
        help="embedding cosine a neighbour needs to be checked at all (default 0.9)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="decide by embeddings alone, without reading the photos (faster, less precise)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per group")
    _threads_option(parser)
    parser.set_defaults(handler=run_duplicates)


def _describe(index) -> str:
    settings = index.engine.settings
    engine = settings.describe()
    if settings.approximate:
        if settings.recall_at_10 is not None:
            engine += (
                f", recall@10 {settings.recall_at_10:.3f} against exact search "
                f"on {settings.recall_queries} sample queries"
            )
    return f"{len(index)} photos, {index.dim}-d vectors from {index.source.describe()}, {engine}"


def _report_skipped(skipped) -> int:
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if skipped:
        print(f"convkit: {len(skipped)} unreadable file(s) skipped", file=sys.stderr)
    return 1 if skipped else 0


def run_index(args) -> int:
    from convkit import search
    from convkit.search.engine import set_threads

    set_threads(args.threads)
    from convkit.weights.cache import model_or_zoo  # `convkit index resnet18 photos/`

    args.model, zoo_layer = model_or_zoo(args.model)
    if zoo_layer and not (args.layer or args.add or args.remove):
        args.layer = zoo_layer
    if args.remove:
        from convkit.search.indexing import embedder_for_index

        index = search.open_index(args.out)
        embedder_for_index(index, args.model)  # refuses another model before anything changes
        before = len(index)
        index, unmatched = search.remove_from_index(args.out, args.remove)
        for given in unmatched:
            print(f"not in the index: {given}", file=sys.stderr)
        print(f"removed {before - len(index)} photo(s); {args.out}: {_describe(index)}")
        return 1 if unmatched else 0
    if not args.folder:
        raise UsageError("give the FOLDER of photos to index (or --remove PATH…)")
    if args.add:
        if args.layer or args.pooling != "avg":
            raise UsageError("--layer/--pooling cannot change with --add: the index keeps its own")
        index, added = search.add_to_index(
            args.out, args.folder, args.model, batch_size=args.batch_size
        )
        print(f"added {added} new photo(s); {args.out}: {_describe(index)}")
        return _report_skipped(index.skipped)
    if Path(args.out).is_dir():
        raise UsageError(
            f"--out {args.out} is a folder; give an index file name like photos.cindex"
        )
    embedder = search.ModelEmbedder(
        args.model, layer=args.layer, pooling=args.pooling, runtime=args.runtime
    )
    index = search.build_index(
        embedder,
        args.folder,
        args.out,
        layer=args.layer,
        pooling=args.pooling,
        batch_size=args.batch_size,
        engine=args.engine,
    )
    print(f"indexed {args.out}: {_describe(index)}")
    return _report_skipped(index.skipped)


def run_search(args) -> int:
    from convkit import search
    from convkit.search.engine import set_threads

    set_threads(args.threads)
    results = search.search(
        args.index, args.queries, model=args.model, top=args.top, effort=args.effort
    )
    for result in results:
        if args.json:
            print(json.dumps(result.to_dict()))
            continue
        print(result.query)
        for rank, match in enumerate(result.matches, start=1):
            print(f"  {rank:3d}. {match.similarity:.4f}  {match.path}")
    if args.sheet:
        from convkit.search.sheets import results_sheet

        print(f"wrote {results_sheet(results, args.sheet)}", file=sys.stderr)
    return 0


def run_cluster(args) -> int:
    from convkit import search

    index = search.open_index(args.index)
    result = search.cluster(index, args.k, k_max=args.k_max, seed=args.seed)
    out = (
        Path(args.out)
        if args.out
        else Path(args.index).with_name(Path(args.index).stem + "_clusters")
    )
    written = search.write_cluster_outputs(
        result, index.vectors, out, map_points=args.map_points, seed=args.seed
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    if result.silhouettes:
        scores = ", ".join(f"{k}:{score:.3f}" for k, score in result.silhouettes.items())
        print(f"chose K={result.k} by silhouette ({scores})")
    print(f"{result.k} clusters over {len(index)} photos; sizes {result.sizes}")
    print(
        f"wrote {written['labels']}, {len(written['sheets'])} contact sheets and "
        f"{', '.join(str(path) for path in written['maps'])}"
    )
    return 0


def run_duplicates(args) -> int:
    from convkit import search
    from convkit.search.duplicates import CANDIDATES_ABOVE
    from convkit.search.engine import set_threads

    set_threads(args.threads)
    candidates_above = args.candidates_above
    report = search.find_duplicates(
        args.index,
        threshold=args.threshold,
        verify=not args.no_verify,
        candidates_above=CANDIDATES_ABOVE if candidates_above is None else candidates_above,
        progress=True,
    )
    for number, group in enumerate(report.groups, start=1):
        if args.json:
            print(json.dumps(group.to_dict()))
            continue
        print(
            f"group {number}: {len(group.paths)} photos (weakest link {group.min_similarity:.4f})"
        )
        for path in group.paths:
            print(f"  {path}")
    for _, why in report.unreadable:
        print(f"skipped (unreadable, not checked): {why}", file=sys.stderr)
    if not args.json:
        photos = sum(len(group.paths) for group in report.groups)
        how = "pixel-checked" if report.verified else "by embeddings alone"
        print(
            f"{len(report.groups)} group(s) of near-duplicates, {photos} photos "
            f"({report.pairs_checked} candidate pairs, {how}, threshold {report.threshold})"
        )
    return 1 if report.unreadable else 0
