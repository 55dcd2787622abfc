"""The engine package's names: each loads with its module on first use (start-up), and is
that module's object; what a type checker sees is what runs."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from xent_cli import engine

INIT = Path(engine.__file__)


def _type_checking_names() -> dict[str, str]:
    """The names the ``if TYPE_CHECKING:`` block imports, with their module."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If))
    return {
        alias.asname or alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_the_type_checkers_names_are_the_ones_loaded() -> None:
    seen = _type_checking_names()
    assert sorted(seen) == engine.__all__
    assert seen == engine._MODULE_OF
    assert len(engine.__all__) == 23


@pytest.mark.parametrize("name", engine.__all__)
def test_each_name_is_its_modules_object(name: str) -> None:
    module = importlib.import_module(f"xent_cli.engine.{engine._MODULE_OF[name]}")
    assert getattr(engine, name) is getattr(module, name)
    assert name in dir(engine)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'xent_cli.engine' has no attribute 'nope'"):
        engine.nope  # noqa: B018
    assert not hasattr(engine, "evaluate_blocked")
