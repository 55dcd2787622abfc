"""Shared test setup: under CI the torch parity tests must run, never skip."""

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """In CI (CI=true), a missing torch is a failure, not a skip."""
    if os.environ.get("CI") and not _has_torch():
        raise pytest.UsageError("CI=true but torch is not importable: the parity tests would skip")


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
