"""Shared test setup: under CI the torch parity tests must run, never skip; the size limits
are overridden with one fixture."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from xent_cli import limits as limits_module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In CI (CI=true), a missing torch is a failure, not a skip."""
    if os.environ.get("CI") and not _has_torch():
        raise pytest.UsageError("CI=true but torch is not importable: the parity tests would skip")


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def limits() -> Iterator[Callable[..., limits_module.Limits]]:
    """``limits(blocked_bytes=0, ...)`` overrides size thresholds for the rest of the test
    (any field of :class:`xent_cli.limits.Limits`); they are restored afterwards."""
    with ExitStack() as stack:

        def override(**changes: int) -> limits_module.Limits:
            return stack.enter_context(limits_module.override(**changes))

        yield override
