"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import VARIANTS, render


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> str:
    """Name of a variant in VARIANTS."""
    return str(request.param)


@pytest.fixture(scope="session")
def rendered(variant: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variant rendered without the setup task (fast; shared by read-only tests)."""
    return render(tmp_path_factory.mktemp(variant) / "project", VARIANTS[variant])
