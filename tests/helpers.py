"""Helpers: render the template's working tree and run commands in the result."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import copier
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

# Fixed identity, so renders do not depend on the machine's git config.
BASE_ANSWERS: dict[str, Any] = {
    "project_name": "Acme Billing",
    "author_name": "Acme Developers",
    "author_email": "dev@acme.example.com",
    "github_owner": "acme",
}

# The meaningful variants; each test that takes `variant` runs for all of them.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "library": {
        "project_type": "library",
        "license": "BSD-3-Clause",
        "python_min_version": "3.10",
        "use_github_actions": False,  # Dependabot alone; auto-sync without its workflow
        "sync_interval_hours": 6,
    },
    "service-no-docker": {
        "use_docker": False,
        "services": ["postgres", "redis"],  # no Celery
        "license": "Apache-2.0",
        "python_version": "3.13",
    },
    "everything-off": {
        "use_docker": False,
        "services": [],  # SQLite, no cache, no worker
        "auto_sync": False,
        "use_github_actions": False,
        "use_dependabot": False,
        "use_pre_commit": False,
        "license": "Proprietary",
    },
}


def render(
    dest: Path,
    answers: Mapping[str, Any] | None = None,
    *,
    setup: bool = False,
    base: Mapping[str, Any] = BASE_ANSWERS,
) -> Path:
    """Render the working tree (HEAD plus uncommitted changes) into `dest`.

    With `setup`, run the copier CLI in a subprocess, as a user would, so that the
    post-generation setup sees `clean_env()`; otherwise render in-process (faster).
    """
    data = {**base, "skip_setup": not setup, **(answers or {})}
    if setup:
        dest.parent.mkdir(parents=True, exist_ok=True)
        data_file = dest.parent / f"{dest.name}-answers.yml"
        data_file.write_text(yaml.safe_dump(data), encoding="utf-8")
        cli = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
        run([*cli, "--vcs-ref=HEAD", f"--data-file={data_file}", str(ROOT), str(dest)], ROOT)
        return dest
    copier.run_copy(
        str(ROOT),
        str(dest),
        data=data,
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    return dest


GIT_ID = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def commit_all(repo: Path, message: str) -> None:
    """Commit everything in `repo` with a fixed identity."""
    run(["git", "add", "-A"], repo)
    env = clean_env(**GIT_ID)
    # --no-verify: a rendered project's hooks run in their own tests, not on every fixture commit.
    command = ["git", "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", message]
    run(command, repo, env=env)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for commands in a rendered project: no outer virtualenv or uv pins."""
    # Nor the outer make's (`make test`): a project's make must run as if typed at a prompt.
    outer = {"VIRTUAL_ENV", "UV_PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    env = {k: v for k, v in os.environ.items() if k not in outer}
    # The pinned uv of the template's dev environment must be findable, as `make new` makes it.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input: str | None = None,  # as subprocess.run names it
) -> subprocess.CompletedProcess[str]:
    """Run a command (stdin: `input`, else nothing), capture its output, show it on failure."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        check=False,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {result.returncode} in {cwd}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def has_tool(name: str) -> bool:
    """True when `name` is on PATH."""
    return shutil.which(name) is not None


def load_extension() -> ModuleType:
    """Import extensions/context.py by path, as copier-template-extensions does."""
    spec = importlib.util.spec_from_file_location("context", ROOT / "extensions" / "context.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
