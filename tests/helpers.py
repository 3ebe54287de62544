"""Helpers: run commands as a user would, git with a fixed identity, skip what is missing."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The template's dev environment: the pinned uv, copier and the validators (make dev).
BIN = Path(sys.executable).parent

GIT_ID = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for commands in a rendered project: no outer virtualenv or uv pins."""
    # Nor the outer make's (`make test`): a project's make must run as if typed at a prompt.
    outer = {"VIRTUAL_ENV", "UV_PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    # Nor this machine's PYTHONDONTWRITEBYTECODE: a prompt caches bytecode, so a project's
    # tools compile their libraries once, not at each start (minutes of the suite's time).
    outer.add("PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in outer}
    # The pinned uv of the template's dev environment must be findable, as `make new` makes it.
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # Output the tests read has no colour codes: Sphinx colours it whenever CI=true, as in CI.
    env["NO_COLOR"] = "1"
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


def output(result: subprocess.CompletedProcess[str]) -> str:
    """What a command printed: stdout, then stderr."""
    return result.stdout + result.stderr


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git in `repo` with a fixed identity; return its stdout, stripped."""
    return run(["git", *args], repo, env=clean_env(**GIT_ID), check=check).stdout.strip()


def commit_all(repo: Path, message: str) -> None:
    """Commit everything in `repo`, unsigned and without its hooks."""
    git(repo, "add", "-A")
    # --no-verify: a rendered project's hooks run in their own tests, not on every fixture commit.
    git(repo, "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", message)


def copy_template(dest: Path, *, release: str | None = None) -> Path:
    """Copy the working tree (uncommitted changes too) to `dest`, without git or caches; with
    `release`, make it a repository whose one commit is tagged `release`. Return `dest`."""
    ignore = shutil.ignore_patterns(".git", ".venv", ".tools", ".cache", "__pycache__")
    shutil.copytree(ROOT, dest, ignore=ignore)
    if release is not None:
        git(dest, "init", "-q", "-b", "main")
        commit_all(dest, release)
        git(dest, "tag", release)
    return dest


def unavailable(reason: str) -> NoReturn:
    """Skip the test for `reason`; under CI (CI set), fail it: CI must not skip silently."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so this fails instead of skipping")
    pytest.skip(reason)


def dev_tool(name: str) -> str:
    """The path of a tool `make dev` installs into the template's .venv (unavailable without)."""
    path = BIN / name
    if not path.exists():
        unavailable(f"{name} is not installed (`make dev` installs it)")
    return str(path)


def load_module(path: Path) -> ModuleType:
    """Import a Python file that is not in a package (hooks, extensions, benchmarks) by path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_extension() -> ModuleType:
    """extensions/context.py, as copier-template-extensions imports it."""
    return load_module(ROOT / "extensions" / "context.py")


def alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie waiting for its parent does not; without
    /proc, as on macOS, any process the kernel still knows counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        stat_line = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        return stat_line.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def background(command: list[str], cwd: Path, env: Mapping[str, str], log: Path) -> Iterator[Path]:
    """Run `command` in its own process group, output to `log`; stop the group on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        yield log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
