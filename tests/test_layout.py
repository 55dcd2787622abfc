"""The house (docs/ARCHITECTURE.md) holds: no import circles, counting imports inside
functions; no module imports another module's ``_private`` name; a function-level import
only where it is marked (an optional dependency, or start-up cost); every subpackage says
what it is for; no module past 400 lines; and the import hygiene the command line's start-up
depends on, checked by what a fresh interpreter actually loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xent_cli"
SUBPACKAGES = ("core", "engine", "analysis", "io", "render", "cli")


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """The nodes inside ``if TYPE_CHECKING:`` blocks (annotations only: not imports)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(sub) for sub in ast.walk(node))
    return inside


def _imports(name: str) -> list[tuple[ast.stmt, str, list[str]]]:
    """``(node, module imported from, names)`` of each import of module ``name`` that runs
    (anywhere in the file, functions included; not under TYPE_CHECKING)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:  # relative: from the package, up ``level - 1`` packages
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            out.append((node, target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((node, a.name, []) for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    """Which package modules each module imports (``from pkg import mod`` counts as mod)."""
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for _, target, names in _imports(name):
            for dest in [f"{target}.{n}" for n in names] + [target]:
                if dest in MODULES and dest != name:
                    edges[name].add(dest)
                    break
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in edges:
        if v not in index:
            visit(v)
    return groups


def test_the_graph_sees_imports_inside_functions() -> None:
    # api imports tempfile inside result_buffer; cli/__init__ imports .app inside main
    assert "xent_cli.cli.app" in _graph()["xent_cli.cli"]


def test_no_import_circles_counting_imports_inside_functions() -> None:
    assert _cycles(_graph()) == []


def test_a_circle_would_be_found() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_no_module_imports_another_modules_private_name() -> None:
    found = [
        f"{name}: from {target} import {n}"
        for name in MODULES
        for _, target, names in _imports(name)
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert found == []


def test_function_level_imports_are_marked_with_their_reason() -> None:
    # An import inside a function is for an optional dependency or for start-up time, and
    # says so in a comment on its line (the first of a run of imports) or the line above.
    unmarked = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        top = {id(node) for node in ast.parse("\n".join(lines)).body}
        for node, _, _ in _imports(name):
            if id(node) in top or node.col_offset == 0:
                continue
            row = node.lineno - 1
            while row > 0 and lines[row - 1].strip().startswith(("from ", "import ")):
                row -= 1  # the first import of the run
            marked = "#" in lines[row] or lines[row - 1].strip().startswith("#")
            if not marked:
                unmarked.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert unmarked == []


@pytest.mark.parametrize("subpackage", SUBPACKAGES)
def test_every_subpackage_says_what_it_is_for(subpackage: str) -> None:
    init = PACKAGE / subpackage / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc) > 200, subpackage
    assert "import" in doc, f"{subpackage}: say what it may import"


def test_no_module_over_400_lines() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


def _loaded(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_xent_cli_loads_neither_click_nor_rich_nor_numpy() -> None:
    loaded = _loaded("import xent_cli")
    assert not {"click", "rich", "numpy"} & loaded


def test_a_loss_through_the_api_loads_neither_click_nor_rich() -> None:
    loaded = _loaded("import xent_cli; xent_cli.cross_entropy([[1.0, 2.0]], [1])")
    assert "numpy" in loaded and not {"click", "rich"} & loaded


def test_the_core_loads_only_numpy_and_the_bottom_layers() -> None:
    loaded = _loaded("import xent_cli.core")
    ours = {m for m in loaded if m.startswith("xent_cli.")}
    bottom = {"xent_cli.errors", "xent_cli.spec", "xent_cli.limits"}
    assert all(m.startswith("xent_cli.core") for m in ours - bottom), sorted(ours)
    others = {m.split(".")[0] for m in loaded - _loaded("pass")} - set(sys.stdlib_module_names)
    assert others <= {"xent_cli", "numpy"}, sorted(others)


#: ``xent compute 1,2,3 0`` in a fresh interpreter.
_PLAIN_COMPUTE = (
    "import sys; sys.argv = ['xent', 'compute', '1,2,3', '0']\n"
    "from xent_cli.cli import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass"
)


def test_a_plain_compute_loads_no_writer_insight_or_explain() -> None:
    # Start-up: `xent compute 1,2,3 0` pays only for what it uses; -o, --insight and explain
    # import their modules when asked for (the function-level imports marked "start-up").
    loaded = _loaded(_PLAIN_COMPUTE)
    assert "xent_cli.core" in loaded
    lazy = {"xent_cli.io.writers", "xent_cli.analysis.insight", "xent_cli.analysis.explain"}
    lazy |= {"xent_cli.analysis.records", "xent_cli.render.insight", "xent_cli.render.explain"}
    assert not lazy & loaded, sorted(lazy & loaded)


def test_a_plain_compute_loads_no_pass_other_reader_or_heavy_stdlib(tmp_path: Path) -> None:
    # Start-up: a literal needs no other reader and the core computes it (no engine pass);
    # json, decimal, csv, numpy.typing and mmap are imported by the code that uses them.
    loaded = _loaded(_PLAIN_COMPUTE)
    assert {"xent_cli.io.text", "xent_cli.engine.scans", "click"} <= loaded
    readers = {"json_simd", "npy_stream", "text_bulk"}
    lazy = {"xent_cli.engine.passes"} | {f"xent_cli.io.{r}" for r in readers}
    lazy |= {"json", "decimal", "csv", "numpy.typing", "mmap"}
    assert not lazy & loaded, sorted(lazy & loaded)
    np.save(tmp_path / "z.npy", np.arange(12.0).reshape(3, 4))
    np.save(tmp_path / "y.npy", np.array([1, 2, 3]))
    files = f"{str(tmp_path / 'z.npy')!r}, {str(tmp_path / 'y.npy')!r}"
    npy = _loaded(_PLAIN_COMPUTE.replace("'1,2,3', '0'", files))
    assert "xent_cli.io.npy" in npy and not {"xent_cli.io.json_simd", "xent_cli.io.text_bulk"} & npy
