"""The post-generation task (hooks/post_gen.py), alone and as copier runs it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from helpers import ROOT, load_module, run
from project import BASE_ANSWERS

post_gen = load_module(ROOT / "hooks" / "post_gen.py")


def fake_project(path: Path, setup_body: str) -> Path:
    """A directory with only a scripts/setup.sh."""
    (path / "scripts").mkdir(parents=True)
    (path / "scripts" / "setup.sh").write_text(f"#!/usr/bin/env bash\n{setup_body}\n")
    return path


def test_initialises_git_on_main_and_runs_setup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = fake_project(tmp_path / "p", "touch ran-setup")
    assert post_gen.main([], project=project) == 0
    assert (project / "ran-setup").exists()
    head = run(["git", "symbolic-ref", "HEAD"], project).stdout.strip()
    assert head == "refs/heads/main"
    assert "initialised a git repository (branch main)" in capsys.readouterr().out


def test_keeps_an_existing_work_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["git", "init", "--quiet", str(tmp_path)], tmp_path)
    project = fake_project(tmp_path / "sub", "true")
    assert post_gen.main(["--skip-setup=False"], project=project) == 0
    assert not (project / ".git").exists()
    assert "already inside a git work tree" in capsys.readouterr().out


def test_failed_setup_never_fails_the_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = fake_project(tmp_path / "p", "echo 'setup: error: uv not found' >&2; exit 1")
    assert post_gen.main([], project=project) == 0
    assert "setup did not finish; the project is rendered" in capsys.readouterr().out


def test_skip_setup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = fake_project(tmp_path / "p", "touch ran-setup")
    assert post_gen.main(["--skip-setup=True"], project=project) == 0
    assert not (project / "ran-setup").exists()
    assert "run `make setup` when you are ready" in capsys.readouterr().out


def test_missing_git_and_bash_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(post_gen.shutil, "which", lambda _name: None)
    project = fake_project(tmp_path / "p", "touch ran-setup")
    assert post_gen.main([], project=project) == 0
    out = capsys.readouterr().out
    assert "git not found: skipped `git init`" in out
    assert "bash not found: skipped setup" in out


def test_unrunnable_command_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert post_gen.run([str(tmp_path / "missing")], tmp_path) == 127
    assert "could not run" in capsys.readouterr().out


def test_rejects_a_bad_flag_value() -> None:
    with pytest.raises(SystemExit):
        post_gen.main(["--skip-setup=maybe"])


def test_render_without_uv_succeeds_and_says_what_to_install(tmp_path: Path) -> None:
    """No uv and no Python on PATH: copier still renders; the hook explains the next step."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("git", "bash", "sed", "head", "tr", "timeout", "cat", "dirname"):
        found = shutil.which(name)
        if found:
            (tools / name).symlink_to(found)
    dest = tmp_path / "project"
    args = [arg for k, v in BASE_ANSWERS.items() for arg in ("-d", f"{k}={v}")]
    env = {"PATH": str(tools), "HOME": str(tmp_path), "LANG": os.environ.get("LANG", "C.UTF-8")}
    cli = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref=HEAD"]
    result = run([*cli, *args, str(ROOT), str(dest)], tmp_path, env=env, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert (dest / "pyproject.toml").exists()
    assert "uv was not found" in output
    assert "setup did not finish; the project is rendered" in output
    assert not (dest / ".venv").exists()
