"""Fixtures shared by the test modules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import ROOT, VARIANTS, commit_all, render, run


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> str:
    """Name of a variant in VARIANTS."""
    return str(request.param)


@pytest.fixture(scope="session")
def rendered(variant: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variant rendered without the setup task (fast; shared by read-only tests)."""
    return render(tmp_path_factory.mktemp(variant) / "project", VARIANTS[variant])


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A copy of the working tree as a template repository tagged v1."""
    repo = tmp_path / "template"
    ignore = shutil.ignore_patterns(".git", ".venv", ".tools", ".cache", "__pycache__")
    shutil.copytree(ROOT, repo, ignore=ignore)
    run(["git", "init", "-q", "-b", "main"], repo)
    commit_all(repo, "v1")
    run(["git", "tag", "v1"], repo)
    return repo
