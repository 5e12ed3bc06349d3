"""The package's shape: imports run one way, no module grows past one idea's size.

Read from the source with ``ast`` (nothing is imported), so a new module
must be placed in LAYERS before it can import anything: that is the point.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "impasto"
MAX_LINES = 350

#: Bottom first. A module may import modules of its own layer or of lower ones, never higher.
#: ``name.*`` stands for every module of a subpackage.
LAYERS: list[list[str]] = [
    ["impasto._version", "impasto.errors", "impasto.heap"],
    ["impasto.events"],
    ["impasto.image"],
    ["impasto.weights"],
    ["impasto.options"],
    ["impasto.config", "impasto.device"],
    ["impasto.stopping"],
    ["impasto.recipe", "impasto.schedule", "impasto.color"],
    ["impasto.output"],
    ["impasto.features"],
    ["impasto.losses"],
    ["impasto.objective"],
    ["impasto.tiles", "impasto.optim"],
    ["impasto.loop"],
    ["impasto.pipeline"],
    ["impasto.api"],
    # Rooms beside the still pipeline that reuse api/pipeline (never the CLI); Ray stays in its own module.
    ["impasto.video", "impasto.video.*", "impasto.batch"],
    ["impasto.batch_run"],
    ["impasto.ray_engine"],
    ["impasto.ray_video"],
    ["impasto.ray_studio"],
    ["impasto.web", "impasto.web.settings", "impasto.web.errors", "impasto.web.records"],
    ["impasto.web.still_jobs", "impasto.web.video_jobs", "impasto.web.examples"],
    ["impasto.web.jobs"],
    ["impasto.web.forms"],
    ["impasto.web.routes"],
    ["impasto.web.app"],
    ["impasto.web.server"],
    ["impasto.cli.common"],
    ["impasto.cli.paint", "impasto.cli.video", "impasto.cli.batch"],
    ["impasto.cli.tools"],
    ["impasto.cli", "impasto.cli.__main__"],
    ["impasto"],
]
#: Below the API: no user interface, no web framework, no cluster.
CORE_TOP = "impasto.api"
CORE_FORBIDDEN = {"tqdm", "argparse", "fastapi", "starlette", "uvicorn", "ray"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> tuple[set[str], set[str]]:
    """(impasto modules, other top-level packages) that ``name`` imports, lazily or not."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    here = name if _is_package(name) else name.rpartition(".")[0]
    ours, theirs = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (ours if alias.name.split(".")[0] == "impasto" else theirs).add(
                    alias.name if alias.name.startswith("impasto") else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
                if base.split(".")[0] != "impasto":
                    theirs.add(base.split(".")[0])
                    continue
            else:
                anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                ours.add(sub if sub in MODULES else base)
    ours.discard(name)
    return ours, theirs


def _layer(name: str) -> int:
    for i, layer in enumerate(LAYERS):
        for entry in layer:
            if name == entry or (entry.endswith(".*") and name.startswith(entry[:-1])):
                return i
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in tests/test_layout.py")


GRAPH = {name: _imports(name)[0] for name in MODULES}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_from_its_layer_or_below(name):
    mine = _layer(name)
    upward = sorted(other for other in GRAPH[name] if _layer(other) > mine)
    assert not upward, f"{name} imports from a higher layer: {upward}"


def test_no_import_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(GRAPH[name]):
            if state.get(other) == 1:
                cycle = path[path.index(other):] + [other]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if other not in state:
                visit(other, path + [other])
        state[name] = 2

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])


def test_the_core_has_no_interface_code():
    core = [n for n in MODULES if _layer(n) <= _layer(CORE_TOP)]
    assert "impasto.pipeline" in core and "impasto.cli" not in core
    for name in core:
        assert not _imports(name)[1] & CORE_FORBIDDEN, f"{name} imports {_imports(name)[1] & CORE_FORBIDDEN}"
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        prints = [n.lineno for n in ast.walk(tree)
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"]
        assert not prints, f"{name} prints (line {prints[0]}): send a Notice event instead"


def test_the_checker_sees_upward_and_lazy_imports():
    # The rules above are only as good as the import reader: check it on known imports.
    assert "impasto.cli.tools" in GRAPH["impasto.cli"]  # lazy, inside main()
    assert "impasto.web.server" in GRAPH["impasto.cli.tools"]  # lazy, inside serve()
    assert {"impasto.output", "impasto.recipe", "impasto.api"} <= GRAPH["impasto.cli.paint"]
    assert "impasto.events" in GRAPH["impasto.loop"] and "tqdm" in _imports("impasto.cli.common")[1]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (> {MAX_LINES}): split it by job"
