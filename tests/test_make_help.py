"""The rendered Makefile's `make help`, for every variant: it lists exactly the targets that
work there, each of which some test runs; grouped, aligned, coloured only on a terminal;
portable to GNU make 3.81. (The README names a few targets and points here: every `make`
command it names is a target, tests/test_agents.py checks.)"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import subprocess

from helpers import clean_env
from project import HELP_LINE, Project

# Every target a variant may list, and where it is run. A target that `make help` lists and
# this set lacks fails test_every_listed_target_is_tested: new targets cannot land untested.
TESTED = {
    # test_project_check.py
    "check", "clean", "format", "install", "lint", "lock", "pre-commit", "security", "setup",
    "test", "typecheck",
    # test_auto_sync.py
    "auto-sync", "check-sync", "remove-sync", "setup-sync", "sync-log",
    # test_service.py
    "beat", "db-shell", "flower", "migrate", "migration", "ready", "redis-cli", "run", "worker",
    # test_ci_jobs.py
    "test-integration",
    # test_make_release.py
    "release",
    # test_make_docker.py
    "docker-build", "docker-compose-config", "docker-compose-down", "docker-compose-logs",
    "docker-compose-ps", "docker-compose-up", "docker-push", "docker-run",
    # test_make_k8s.py
    "k8s-apply", "k8s-build", "k8s-diff", "k8s-validate",
    # test_make_targets.py
    "build", "bump-major", "bump-minor", "bump-patch", "clean-all", "coverage", "coverage-html",
    "env", "lint-fix", "pre-commit-install", "shell", "sync", "test-fast", "upgrade", "version",
    # test_specs.py
    "specs",
    # test_project_docs.py
    "docs", "docs-serve",
    # test_make_audit.py, test_make_doctor.py, test_make_update.py, this module
    "audit", "doctor", "template-status", "template-update", "help",
}  # fmt: skip
SYNC = {"auto-sync", "check-sync", "remove-sync", "setup-sync", "sync-log"}
# A service's targets, by the `services` answer they need ("" for every service).
SERVICE = {
    "": {"env", "run", "migrate", "migration", "ready", "db-shell"},
    "redis": {"redis-cli"},
    "celery": {"worker", "beat", "flower"},
}
# A service's targets with `use_docker`.
DOCKER = {target for target in TESTED if target.startswith("docker-")}
# A service's targets with `use_kubernetes`.
KUBERNETES = {target for target in TESTED if target.startswith("k8s-")}
PRE_COMMIT = {"pre-commit", "pre-commit-install"}
# The targets of `use_docs`.
SPECS = {"specs"}
DOCS = {"docs", "docs-serve"}
# A service's targets with any `services` answer.
INTEGRATION = {"test-integration"}
COMMON = TESTED - set().union(
    PRE_COMMIT, SPECS, DOCS, SYNC, DOCKER, KUBERNETES, INTEGRATION, *SERVICE.values()
)


def expected_targets(project: Project) -> set[str]:
    """The targets a variant's `make help` must list: exactly those that work in it."""
    targets = set(COMMON)
    if project.is_service:
        for service in ["", *project.services]:
            targets |= SERVICE.get(service, set())
        if project.services:
            targets |= INTEGRATION
        if project.on("use_docker"):
            targets |= DOCKER
        if project.on("use_kubernetes"):
            targets |= KUBERNETES
    if project.on("use_pre_commit"):
        targets |= PRE_COMMIT
    if project.on("use_docs"):
        targets |= SPECS | DOCS
    if project.on("auto_sync"):
        targets |= SYNC
    return targets


def expected_groups(project: Project) -> list[str]:
    """The headings of a variant's `make help`, in order."""
    groups = ["Setup", "Quality", "Test", "Build and release"]
    if project.on("use_docs"):
        groups.append("Docs")
    groups.append("Run")
    if project.is_service:
        groups.append("Database and queue")
        if project.on("use_docker"):
            groups.append("Docker")
        if project.on("use_kubernetes"):
            groups.append("Kubernetes")
    if project.on("auto_sync"):
        groups.append("Sync")
    return [*groups, "Maintenance"]


def test_help_lists_exactly_the_targets_that_work(rendered: Project) -> None:
    """Without setup: `make help` needs nothing installed."""
    targets = rendered.help_targets()
    assert set(targets) == expected_targets(rendered)
    assert all(len(description) > 10 for description in targets.values())
    if rendered.on("use_docker"):
        assert len(targets) >= 30


def test_every_listed_target_is_tested(rendered: Project) -> None:
    untested = set(rendered.help_targets()) - TESTED
    assert not untested, f"untested targets: {sorted(untested)}"


def test_help_is_grouped_aligned_and_plain_without_a_terminal(rendered: Project) -> None:
    out = rendered.make().stdout
    assert out == rendered.make("help").stdout
    assert "\033[" not in out
    headings = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert headings == expected_groups(rendered)
    columns = {m.start("description") for m in map(HELP_LINE.match, out.splitlines()) if m}
    assert columns == {24}


def test_help_is_coloured_on_a_terminal(rendered: Project) -> None:
    leader, follower = pty.openpty()
    with subprocess.Popen(
        ["make", "help"], cwd=rendered.path, env=clean_env(), stdout=follower, stderr=follower
    ) as process:
        os.close(follower)
        chunks = []
        with contextlib.suppress(OSError):  # EIO once make exits
            while chunk := os.read(leader, 4096):
                chunks.append(chunk)
        process.wait()
    os.close(leader)
    assert b"\033[36msetup" in b"".join(chunks)


def test_makefile_is_portable_to_make_3_81(rendered: Project) -> None:
    """macOS ships GNU make 3.81: nothing from 3.82 or later, and every target is phony."""
    text = (rendered.path / "Makefile").read_text()
    makefile = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    for feature in (".SHELLFLAGS", ".ONESHELL", ".RECIPEPREFIX", "::=", "!=", "$(file ",
                    "undefine ", "private ", "$(guile "):  # fmt: skip
        assert feature not in makefile, feature
    phony = set(re.findall(r"^\.PHONY: (\S+)$", makefile, re.MULTILINE))
    assert set(rendered.help_targets()) <= phony
