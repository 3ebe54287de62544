"""The rendered scripts/setup.sh: finding uv and Python with the fallback chain.

Stand-in interpreters on a restricted PATH make every case reproducible on any machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import run
from project import Renderer

# What setup.sh and the rendered Makefile need besides Python and uv.
UTILITIES = [
    "awk", "bash", "basename", "cat", "chmod", "cp", "dirname", "env", "find", "git", "grep",
    "head", "ls", "make", "mkdir", "mktemp", "readlink", "rm", "sed", "sh", "sort", "touch",
    "timeout", "tr", "uname",
]  # fmt: skip


# The versions the scenarios below are built around: the project prefers 3.12, needs 3.11+.
VERSIONS: dict[str, Any] = {"python_version": "3.12", "python_min_version": "3.11"}


@pytest.fixture(scope="module")
def project(renderer: Renderer) -> Path:
    """A service with VERSIONS. --find changes nothing, so it is shared."""
    return renderer.render(**VERSIONS).path


@pytest.fixture
def utilities(tmp_path: Path) -> Path:
    """A directory with the basic tools, and no Python or uv."""
    bin_dir = tmp_path / "utils"
    bin_dir.mkdir()
    for name in UTILITIES:
        target = shutil.which(name)
        if target:
            (bin_dir / name).symlink_to(target)
    return bin_dir


def executable(path: Path, body: str) -> Path:
    """Write a shell script stand-in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fake_python(directory: Path, name: str, version: str) -> Path:
    """An interpreter stand-in that reports `version` when probed."""
    return executable(directory / name, f'[ "$1" = -c ] && echo {version}')


def broken_shim(directory: Path, name: str) -> Path:
    """What pyenv puts on PATH for a version that is not installed."""
    return executable(
        directory / name,
        f'echo "pyenv: {name}: command not found" >&2\nexit 127',
    )


def fake_uv(directory: Path) -> Path:
    """A uv that runs but has no managed Pythons (and --find never installs one)."""
    return executable(
        directory / "uv",
        'case "$1" in --version) echo "uv 0.0.0 (stand-in)" ;; *) exit 2 ;; esac',
    )


def setup_sh(
    project: Path, path: list[Path], home: Path, *args: str, **extra: str
) -> tuple[int, str]:
    """Run setup.sh with exactly this PATH and HOME; return (status, stdout + stderr)."""
    env = {"PATH": os.pathsep.join(map(str, path)), "HOME": str(home), **extra}
    result = run(["/bin/bash", "scripts/setup.sh", *args], project, env=env, check=False)
    return result.returncode, result.stdout + result.stderr


def test_preferred_version_wins(project: Path, utilities: Path, tmp_path: Path) -> None:
    bins = tmp_path / "bin"
    fake_python(bins, "python3.13", "3.13.1")
    preferred = fake_python(bins, "python3.12", "3.12.4")
    fake_python(bins, "python3", "3.11.2")
    fake_uv(bins)
    status, out = setup_sh(project, [bins, utilities], tmp_path, "--find")
    assert status == 0, out
    assert f"Python: {preferred} (3.12.4) - preferred version from .python-version" in out
    assert "note:" not in out


def test_falls_back_to_the_newest_allowed_version(
    project: Path, utilities: Path, tmp_path: Path
) -> None:
    bins = tmp_path / "bin"
    fake_python(bins, "python3.10", "3.10.14")
    allowed = fake_python(bins, "python3.11", "3.11.9")
    fake_python(bins, "python3", "3.9.18")
    fake_uv(bins)
    status, out = setup_sh(project, [bins, utilities], tmp_path, "--find")
    assert status == 0, out
    assert (
        f"Python: {allowed} (3.11.9) - preferred 3.12 not found; "
        "3.11 satisfies requires-python >=3.11"
    ) in out
    assert "export UV_PYTHON=.venv/bin/python" in out


def test_plain_python3_is_accepted_when_recent_enough(
    project: Path, utilities: Path, tmp_path: Path
) -> None:
    bins = tmp_path / "bin"
    python3 = fake_python(bins, "python3", "3.14.0")
    fake_uv(bins)
    status, out = setup_sh(project, [bins, utilities], tmp_path, "--find")
    assert status == 0, out
    assert f"Python: {python3} (3.14.0)" in out


def test_broken_shim_first_on_path_is_skipped(
    project: Path, utilities: Path, tmp_path: Path
) -> None:
    shims, real = tmp_path / "shims", tmp_path / "real"
    shim = broken_shim(shims, "python3.12")
    working = fake_python(real, "python3.12", "3.12.7")
    fake_uv(real)
    status, out = setup_sh(project, [shims, real, utilities], tmp_path, "--find")
    assert status == 0, out
    assert f"skipping {shim}: it exists but does not run" in out
    assert f"Python: {working} (3.12.7) - preferred version from .python-version" in out


def test_preferred_version_as_plain_python3_wins(
    project: Path, utilities: Path, tmp_path: Path
) -> None:
    """A preferred 3.12 that is only called python3 beats an older python3.11."""
    bins = tmp_path / "bin"
    fake_python(bins, "python3.11", "3.11.9")
    python3 = fake_python(bins, "python3", "3.12.8")
    fake_uv(bins)
    status, out = setup_sh(project, [bins, utilities], tmp_path, "--find")
    assert status == 0, out
    assert f"Python: {python3} (3.12.8) - preferred version from .python-version" in out


def test_uv_in_the_project_environment_is_found(
    render: Renderer, utilities: Path, tmp_path: Path
) -> None:
    """After a first setup, the locked uv in .venv serves even when PATH has none."""
    project = render(**VERSIONS).path
    uv = fake_uv(project / ".venv" / "bin")
    fake_python(tmp_path / "bin", "python3.12", "3.12.4")
    status, out = setup_sh(project, [tmp_path / "bin", utilities], tmp_path, "--find")
    assert status == 0, out
    assert "uv: .venv/bin/uv (uv 0.0.0 (stand-in))" in out
    assert uv.exists()


def test_python_variable_overrides_the_search(
    project: Path, utilities: Path, tmp_path: Path
) -> None:
    bins = tmp_path / "bin"
    fake_python(bins, "python3.12", "3.12.4")
    chosen = fake_python(tmp_path / "elsewhere", "python", "3.13.2")
    fake_uv(bins)
    status, out = setup_sh(project, [bins, utilities], tmp_path, "--find", PYTHON=str(chosen))
    assert status == 0, out
    assert f"Python: {chosen} (3.13.2) - set by PYTHON" in out


def test_python_variable_that_is_too_old_is_refused(
    project: Path, utilities: Path, tmp_path: Path
) -> None:
    old = fake_python(tmp_path / "bin", "python3.9", "3.9.18")
    fake_uv(tmp_path / "bin")
    status, out = setup_sh(project, [tmp_path / "bin", utilities], tmp_path, PYTHON=str(old))
    assert status == 1
    assert f"PYTHON={old} does not run or is older than 3.11" in out
    assert not (project / ".venv").exists()


def test_only_too_old_pythons_says_what_to_install(
    project: Path, utilities: Path, tmp_path: Path
) -> None:
    bins = tmp_path / "bin"
    fake_python(bins, "python3", "3.9.18")
    broken_shim(bins, "python3.12")
    fake_uv(bins)
    status, out = setup_sh(project, [bins, utilities], tmp_path, "--find")
    assert status == 1
    assert "install Python 3.12 (or any version >= 3.11)" in out
    assert "uv python install 3.12" in out
    assert "make setup PYTHON=/path/to/python3.12" in out


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_python_and_no_network_fails_cleanly(
    project: Path, utilities: Path, tmp_path: Path
) -> None:
    uv_dir = tmp_path / "uv"
    uv_dir.mkdir()
    (uv_dir / "uv").symlink_to(Path(sys.executable).parent / "uv")
    status, out = setup_sh(
        project,
        [uv_dir, utilities],
        tmp_path,
        UV_PYTHON_INSTALL_DIR=str(tmp_path / "managed"),
        UV_PYTHON_INSTALL_MIRROR=f"http://127.0.0.1:{closed_port()}",
        UV_HTTP_RETRIES="0",
        SETUP_TIMEOUT="30",
    )
    assert status == 1
    assert "no Python >= 3.11 found; asking uv to install Python 3.12" in out
    assert "uv could not install Python 3.12 (no network access?)" in out
    assert "pyenv install 3.12" in out
    assert not (project / ".venv").exists()


def real_tools(tmp_path: Path) -> Path:
    """A directory with the running Python (as python3.11 etc.) and the pinned uv."""
    here = f"python3.{sys.version_info[1]}"
    pythons = tmp_path / "pythons"
    pythons.mkdir()
    (pythons / here).symlink_to(os.path.realpath(sys.executable))
    (pythons / "uv").symlink_to(Path(sys.executable).parent / "uv")
    return pythons


def network_env(path: list[Path], **extra: str) -> dict[str, str]:
    """PATH exactly as given; HOME and the uv/TLS settings of this machine kept."""
    env = {"PATH": os.pathsep.join(map(str, path)), "HOME": str(Path.home())}
    for name in ("SSL_CERT_FILE", "UV_CACHE_DIR", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        if name in os.environ:
            env[name] = os.environ[name]
    return {**env, **extra}


@pytest.fixture
def silent_proxy() -> Iterator[str]:
    """An HTTP proxy on loopback that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.mark.slow
def test_uv_sync_that_hangs_times_out_with_a_clear_message(
    render: Renderer, tmp_path: Path, utilities: Path, silent_proxy: str
) -> None:
    """A network that accepts and never answers: setup stops after SYNC_TIMEOUT, marks nothing."""
    project = render("library", python_version="3.11").path
    env = network_env(
        [real_tools(tmp_path), utilities],
        UV_CACHE_DIR=str(tmp_path / "empty-cache"),
        HTTPS_PROXY=silent_proxy,
        HTTP_PROXY=silent_proxy,
        UV_HTTP_TIMEOUT="120",
        SYNC_TIMEOUT="3",
    )
    result = run(["make", "setup"], project, env=env, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "uv sync did not finish in 3s (a slow or unreachable package index?)" in output
    assert not (project / ".venv" / ".setup-done").exists()
    # The next target retries setup instead of trusting the half-made .venv.
    result = run(["make", "lint"], project, env=env, check=False)
    assert ".venv is not set up yet: running make setup first." in result.stdout


def test_missing_uv_says_how_to_install_it(project: Path, utilities: Path, tmp_path: Path) -> None:
    fixed = [p for p in ("/usr/local/bin/uv", "/opt/homebrew/bin/uv") if Path(p).exists()]
    if fixed:
        pytest.skip(f"uv is installed at {fixed[0]}, a location setup.sh always checks")
    bins = tmp_path / "bin"
    fake_python(bins, "python3.12", "3.12.4")
    status, out = setup_sh(project, [bins, utilities], tmp_path)
    assert status == 1
    assert "uv was not found on PATH, in ~/.local/bin" in out
    assert "python3 -m pip install --user uv" in out
    assert "setup: error: uv not found" in out


def test_uv_in_home_local_bin_is_found(project: Path, utilities: Path, tmp_path: Path) -> None:
    bins = tmp_path / "bin"
    fake_python(bins, "python3.12", "3.12.4")
    uv = fake_uv(tmp_path / ".local" / "bin")
    status, out = setup_sh(project, [bins, utilities], tmp_path, "--find")
    assert status == 0, out
    assert f"uv: {uv} (uv 0.0.0 (stand-in))" in out


@pytest.mark.slow
def test_fallback_interpreter_gives_a_green_project(
    render: Renderer, tmp_path: Path, utilities: Path
) -> None:
    """Preferred version absent: setup uses the older allowed one and `make check` passes."""
    minor = sys.version_info[1]
    if minor >= 14:
        pytest.skip("needs a preferred version newer than the running Python")
    here = f"3.{minor}"
    project = render(python_version=f"3.{max(minor + 1, 13)}", python_min_version=here).path
    env = network_env([real_tools(tmp_path), utilities])
    # No `make setup` first: `make check` sets up, and every uv call uses the fallback.
    out = run(["make", "check"], project, env=env).stdout
    assert f"preferred 3.{max(minor + 1, 13)} not found; {here} satisfies" in out
    assert "Required test coverage of 90.0% reached" in out
    version = run([".venv/bin/python", "-c", "import sys; print(sys.version)"], project).stdout
    assert version.startswith(here)


@pytest.mark.slow
def test_inside_an_enclosing_repository_hooks_stay_out_of_it(
    render: Renderer, tmp_path: Path
) -> None:
    """A project rendered into a monorepo: setup never installs hooks in the outer repo."""
    run(["git", "init", "--quiet", str(tmp_path)], tmp_path)
    project = render(setup=True).path
    assert project.is_relative_to(tmp_path)  # the render lands inside the outer repository
    assert (project / ".venv" / ".setup-done").exists()
    assert not (tmp_path / ".git" / "hooks" / "pre-commit").exists()
    out = run(["make", "setup"], project).stdout
    assert "not installing git hooks" in out


@pytest.mark.slow
def test_pre_commit_install_refusal_is_a_warning(render: Renderer) -> None:
    """pre-commit refuses to install under core.hooksPath; setup still succeeds."""
    project = render(setup=True).path
    run(["git", "config", "core.hooksPath", ".githooks"], project)
    out = run(["make", "setup"], project).stdout
    assert "warning: pre-commit install failed" in out
    assert (project / ".venv" / ".setup-done").exists()
