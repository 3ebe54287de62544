""".ci/run, the template's CI entry point, as root here and through sudo on GitHub's hosted
runners; and the selection of one variant's tests (make test-variant) that a CI matrix runs."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT
from project import VARIANTS

# Fakes on an otherwise bare PATH: each records its argv (and whether it ran as "root").
RECORDER = """#!/bin/sh
echo "{name} $*" >> "$CALLS"
{body}
"""


def tool(folder: Path, name: str, body: str = "exit 0") -> None:
    """Write a fake `name` that records its call, then runs `body`."""
    path = folder / name
    path.write_text(RECORDER.format(name=name, body=body), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def ci_run(tmp_path: Path, *, uid: int, sudo: str | None) -> tuple[int, str, list[str]]:
    """Run .ci/run with nothing it installs on PATH, as user `uid`; sudo answers with `sudo`
    (None: no sudo at all). `make` is a fake: the suite itself is not run. Returns the exit
    status, stderr and the recorded calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("dirname", "ls", "env", "true"):
        real = shutil.which(name)
        assert real is not None
        (bin_dir / name).symlink_to(real)
    tool(bin_dir, "id", f"echo {uid}")
    tool(bin_dir, "apt-get")
    tool(bin_dir, "make")
    if sudo is not None:
        tool(bin_dir, "sudo", sudo)
    calls = tmp_path / "calls.txt"
    result = subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(ROOT / ".ci" / "run")],
        env={"PATH": str(bin_dir), "CALLS": str(calls), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    recorded = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    return result.returncode, result.stderr, recorded


def test_as_root_it_installs_with_apt_get_then_runs_the_suite(tmp_path: Path) -> None:
    status, err, calls = ci_run(tmp_path, uid=0, sudo=None)
    assert status == 0, err
    assert "apt-get update -qq" in calls
    install = next(call for call in calls if call.startswith("apt-get install"))
    for package in ("nodejs", "npm", "redis-server", "buildah", "debootstrap", "postgresql"):
        assert f" {package}" in install
    assert calls[-1] == "make test"
    assert not [call for call in calls if call.startswith("sudo")]


def test_as_a_user_with_sudo_it_installs_through_sudo(tmp_path: Path) -> None:
    """GitHub's hosted runners: not root, passwordless sudo."""
    status, err, calls = ci_run(tmp_path, uid=1001, sudo='[ "$1" = -n ] && shift; exec "$@"')
    assert status == 0, err
    assert "sudo -n true" in calls
    assert "sudo -n apt-get update -qq" in calls
    assert any(call.startswith("sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install")
               for call in calls)  # fmt: skip
    assert calls[-1] == "make test"


@pytest.mark.parametrize("sudo", [None, "exit 1"], ids=["no-sudo", "sudo-asks-a-password"])
def test_without_root_or_sudo_it_says_what_to_install_in_one_line(
    tmp_path: Path, sudo: str | None
) -> None:
    status, err, calls = ci_run(tmp_path, uid=1001, sudo=sudo)
    assert status == 1
    assert err.startswith("ci: missing nodejs npm redis-server")
    assert err.rstrip().endswith("install them (apt-get needs root, or sudo without a password)")
    assert len(err.strip().splitlines()) == 1
    assert not [call for call in calls if "apt-get" in call or call == "make test"]


def collect(*args: str) -> subprocess.CompletedProcess[str]:
    """pytest --collect-only of the suite with `args` (no test runs)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-p", "no:xdist", *args],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "PYTEST_ADDOPTS": ""},
    )  # fmt: skip


def takes(test_id: str, variant: str) -> bool:
    """Whether a test id's parameters ([a-b-c]) include `variant`."""
    params = f"-{test_id.rpartition('[')[2].rstrip(']')}-" if test_id.endswith("]") else ""
    return f"-{variant}-" in params


def test_a_variant_runs_alone_with_every_test_of_that_variant() -> None:
    everything = collect().stdout.splitlines()
    for name in ("library", "defaults"):
        chosen = [line for line in collect("--variant", name).stdout.splitlines() if "::" in line]
        expected = [line for line in everything if "::" in line and takes(line, name)]
        assert chosen, name
        assert sorted(chosen) == sorted(expected)


def test_an_unknown_variant_is_refused_with_the_names_to_pick() -> None:
    result = collect("--variant", "nope")
    assert result.returncode != 0
    assert f"unknown variant nope: pick one of {', '.join(VARIANTS)}" in result.stderr
