"""Arrows point one way: every import in src/convkit goes down the layer order.

The order is written here as data and, in the same words, in
docs/ARCHITECTURE.md (a test below keeps the two equal). Each line is one
layer, top first; a module may import its own package and anything on a
lower line, never a line above and never a neighbour on its own line.
Imports inside functions count the same as those at the top of a module:
a function-level import only hides an arrow, it does not turn it round.

Besides the order, two more rules: no import cycle between modules (inside
one package too), and command-line parsing (argparse) is the front end's.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "convkit"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"

#: Top first. "convkit" is the package's own __init__ (the version, the pixel limit).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),
    ("serve", "spark"),
    ("api",),
    ("names",),
    ("train",),
    ("search", "viz"),
    ("onnx_import",),
    ("weights",),
    ("inference",),
    ("classify", "detect", "ocr"),
    ("audio",),
    ("modelfile",),
    ("tasks",),
    ("data", "nn"),
    ("model_schema", "model_tensors", "zoo"),
    ("spec",),
    ("fileio", "convkit"),
    ("limits",),
    ("errors",),
)

#: Only these units may build command lines (argparse, add_argument…).
COMMAND_LINE_UNITS = {"cli", "__main__"}
_PARSER_CALLS = {"add_argument", "add_argument_group", "add_parser", "add_subparsers"}


# -- reading the source -------------------------------------------------------------------
def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def unit_of(module: str) -> str:
    """``convkit.detect.task`` -> ``detect``; the package itself is ``convkit``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class Arrow:
    source: str  # importing module
    target: str  # imported module (or package)
    line: int
    typing_only: bool = False  # under `if TYPE_CHECKING:`: an arrow, but never run

    def __str__(self) -> str:
        return f"{self.source} (line {self.line}) -> {self.target}"


def imports_in(module: str, text: str, is_package: bool, known: set[str]) -> list[Arrow]:
    """Every convkit import in ``text``, wherever it sits (top level, function, class)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    tree = ast.parse(text)
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    arrows = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from convkit import api` imports the module convkit.api; `from
            # convkit import __version__` imports a name of the package.
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                for alias in node.names
            ]
        else:
            continue
        arrows += [
            Arrow(module, target, node.lineno, id(node) in typing_only)
            for target in targets
            if target == "convkit" or target.startswith("convkit.")
        ]
    return arrows


def parser_uses(module: str, text: str) -> list[str]:
    """Lines where ``text`` imports argparse or builds command-line arguments."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
            found.append(f"{module} line {node.lineno}: import argparse")
        elif isinstance(node, ast.ImportFrom) and node.module == "argparse":
            found.append(f"{module} line {node.lineno}: from argparse import …")
        elif isinstance(node, ast.Attribute) and node.attr in _PARSER_CALLS:
            found.append(f"{module} line {node.lineno}: .{node.attr}(…)")
    return found


# -- the rules --------------------------------------------------------------------------------
def layer_index() -> dict[str, int]:
    index = {}
    for depth, layer in enumerate(LAYERS):
        for unit in layer:
            assert unit not in index, f"{unit} is on two lines of LAYERS"
            index[unit] = depth
    return index


def wrong_way(arrows: list[Arrow]) -> list[str]:
    """Arrows that go up the order or sideways to a neighbour on the same line."""
    depth = layer_index()
    problems = []
    for arrow in arrows:
        source, target = unit_of(arrow.source), unit_of(arrow.target)
        if source == target:
            continue
        if depth[target] < depth[source]:
            problems.append(f"{arrow}: {target} is above {source}")
        elif depth[target] == depth[source]:
            problems.append(
                f"{arrow}: {source} and {target} share a layer; neither imports the other"
            )
    return problems


def cycles(arrows: list[Arrow], known: set[str]) -> list[list[str]]:
    """Import cycles between modules (a package's __init__ counts as a module).

    Imports for type checkers only are left out: they never run, so they
    cannot close a cycle (they still have to point down the order).
    """
    graph: dict[str, set[str]] = {}
    for arrow in arrows:
        if arrow.target in known and arrow.target != arrow.source and not arrow.typing_only:
            graph.setdefault(arrow.source, set()).add(arrow.target)
    found, state, stack = [], {}, []

    def visit(node: str) -> None:  # depth-first; a grey node met again closes a cycle
        state[node] = "grey"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "grey":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "black"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def source_arrows(sources: dict[str, tuple[str, bool]], known: set[str]) -> list[Arrow]:
    arrows = []
    for module, (text, is_package) in sources.items():
        arrows += imports_in(module, text, is_package, known)
    return arrows


def real_sources() -> dict[str, tuple[str, bool]]:
    return {
        name: (path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for name, path in all_modules().items()
    }


# -- the tree as it is -------------------------------------------------------------------------
def test_every_package_has_a_place_in_the_order():
    depth = layer_index()
    units = {unit_of(name) for name in all_modules()}
    assert sorted(units - set(depth)) == [], "add new packages to LAYERS and ARCHITECTURE.md"
    assert sorted(set(depth) - units) == [], "LAYERS names a package that no longer exists"


def test_every_import_points_down():
    known = set(all_modules())
    problems = wrong_way(source_arrows(real_sources(), known))
    assert problems == [], "wrong-way imports:\n" + "\n".join(problems)


def test_no_import_cycles():
    known = set(all_modules())
    found = cycles(source_arrows(real_sources(), known), known)
    assert found == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_only_the_front_end_parses_command_lines():
    problems = []
    for name, (text, _) in real_sources().items():
        if unit_of(name) not in COMMAND_LINE_UNITS:
            problems += parser_uses(name, text)
    assert problems == [], "argparse outside convkit.cli:\n" + "\n".join(problems)


def test_architecture_states_the_same_order():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = re.search(r"<!-- layers: .*? -->\n```\n(.*?)```", text, re.S)
    assert block, "ARCHITECTURE.md lost its layer block (<!-- layers: … --> then a code block)"
    written = tuple(tuple(line.split()) for line in block.group(1).splitlines() if line.strip())
    assert written == LAYERS


# -- the checker catches what it should: the arrows the restructuring removed -------------------
WRONG_WAY_SAMPLES = {
    "data imports a task package": (
        "convkit.data.preprocessing",
        "def f():\n    from convkit.audio import AudioPreprocessing\n",
    ),
    "data imports ocr at the top": (
        "convkit.data.preprocessing",
        "from convkit.ocr.preprocess import TextLinePreprocessing\n",
    ),
    "modelfile imports a task package": (
        "convkit.modelfile",
        "def g():\n    from convkit.detect.task import DetectTask\n",
    ),
    "the task base imports a task": ("convkit.tasks.registry", "import convkit.detect.task\n"),
    "search imports api": ("convkit.search.embed", "def h():\n    from convkit import api\n"),
    "a detect view imports the engine": (
        "convkit.detect.inputs",
        "class D:\n    def __init__(self):\n        from convkit.inference import open_model\n",
    ),
    "an ocr view imports the engine": (
        "convkit.ocr.inputs",
        "from ..inference.engine import open_model\n",
    ),
    "inference imports viz": ("convkit.inference.engine", "from convkit.viz import grids\n"),
    "spec imports torch building": ("convkit.spec.netspec", "from convkit.nn import build\n"),
    "neighbours on one line": ("convkit.detect.task", "from convkit.ocr.alphabet import BLANK\n"),
}


@pytest.mark.parametrize("case", sorted(WRONG_WAY_SAMPLES))
def test_checker_catches_a_wrong_way_import(case):
    module, text = WRONG_WAY_SAMPLES[case]
    known = set(all_modules())
    arrows = imports_in(module, text, is_package=False, known=known)
    assert arrows, "the sample's import was not read at all"
    assert len(wrong_way(arrows)) == len(arrows)


def test_checker_lets_a_downward_import_pass():
    known = set(all_modules())
    text = (
        "from convkit.tasks.base import Task\ndef f():\n    from ..data.decode import read_image\n"
    )
    assert wrong_way(imports_in("convkit.detect.task", text, False, known)) == []


def test_checker_catches_a_cycle_inside_a_package():
    # detect/report.py <-> tasks/detect.py, as it was, now inside one package
    known = set(all_modules())
    sources = {
        "convkit.detect.evaluation": (
            "from convkit.detect.task import EVAL_CONF_THRESHOLD\n",
            False,
        ),
        "convkit.detect.task": (
            "def evaluate():\n    from convkit.detect.evaluation import evaluate_detector\n",
            False,
        ),
    }
    found = cycles(source_arrows(sources, known), known)
    assert found and set(found[0]) == {"convkit.detect.evaluation", "convkit.detect.task"}


def test_checker_catches_argparse_outside_the_front_end():
    text = "def add_train_arguments(parser):\n    parser.add_argument_group('spark')\n"
    assert parser_uses("convkit.spark.cli_options", text)
    assert parser_uses("convkit.spark.x", "import argparse\n")
