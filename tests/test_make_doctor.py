"""`make doctor` in every set-up variant: what the machine has, and on a bare machine what is
missing and what to install."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpers import output, run
from project import Project

pytestmark = pytest.mark.slow


def test_doctor_on_a_complete_machine(green: Project) -> None:
    out = output(green.make("doctor"))
    for tool in ("git", "make", "uv", "python", ".venv"):
        assert re.search(rf"^  ok +{re.escape(tool)} ", out, re.MULTILINE), (tool, out)
    assert "doctor: everything the project needs is here." in out


def test_doctor_names_what_is_missing(green: Project, tmp_path: Path) -> None:
    """No Python on PATH (uv only in .venv), and a make that is too old: exit 1, each named."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "git", "sed", "head", "dirname", "timeout", "cat", "tr"):
        found = shutil.which(name)
        assert found is not None, name
        (tools / name).symlink_to(found)
    env = {"PATH": str(tools), "HOME": str(tmp_path), "MAKE_VERSION": "3.80"}
    done = green.path / ".venv" / ".setup-done"
    done.rename(done.with_name("setup-done.bak"))
    try:
        # Exactly this environment: a bare machine's.
        result = run(["bash", "scripts/doctor.sh"], green.path, env=env, check=False)
    finally:
        done.with_name("setup-done.bak").rename(done)
    out = output(result)
    assert result.returncode == 1
    assert "MISSING  make         GNU Make 3.80 is too old: install 3.81 or newer" in out
    assert "MISSING  python       scripts/setup.sh found no Python it can use:" in out
    assert f"uv python install {green.answers['python_version']}" in out
    assert re.search(r"todo +\.venv +not set up yet", out)
    cron = "absent   crontab      make setup-sync needs cron" in out
    assert cron == green.on("auto_sync")
    assert "doctor: 2 required tool(s) missing" in out
