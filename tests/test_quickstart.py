"""README's quick start is the truth: its commands exist, work, and CI runs the test one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import ROOT, run


def quick_start_commands() -> list[str]:
    """The commands in the README's quick-start code block, without comments."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line.split("#", 1)[0].strip() for line in block[1].splitlines() if line.strip()]


def test_quick_start_has_a_render_and_a_test_command() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert commands[0].startswith("make new DEST=")
    assert commands[1] == "make test"


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    steps = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert steps[-1] == quick_start_commands()[1]


def test_make_new_without_dest_explains_itself() -> None:
    result = run(["make", "new"], ROOT, check=False)
    assert result.returncode == 2
    assert "usage: make new DEST=path/to/new-project" in result.stderr


@pytest.mark.slow
def test_quick_start_render_is_green(tmp_path: Path) -> None:
    dest = tmp_path / "my-service"
    out = run(["make", "new", f"DEST={dest}"], ROOT)
    assert "my-service is ready" in out.stdout + out.stderr
    assert "setup: .venv ready" in out.stdout + out.stderr
    run(["make", "check"], dest)
