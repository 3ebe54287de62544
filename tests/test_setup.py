"""The rendered scripts/setup.sh: finding uv and Python with the fallback chain, and every
external call bounded (GNU timeout, or the watchdog used where there is none).

Stand-in interpreters and uvs on a restricted PATH make every case reproducible on any machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import alive, run
from project import Renderer

# What setup.sh and the rendered Makefile need besides Python and uv.
UTILITIES = [
    "awk", "bash", "basename", "cat", "chmod", "cp", "dirname", "env", "find", "git", "grep",
    "head", "ls", "make", "mkdir", "mktemp", "readlink", "rm", "sed", "sh", "sleep", "sort",
    "touch", "timeout", "tr", "uname",
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


# Bounded calls: stand-in tools that hang, ignore TERM or answer garbage, each stopped within the
# bound setup.sh is given (its *_TIMEOUT variables), and a last line that says what to do.

BOUND = 2  # seconds, for whichever bound a test lowers
KILL_AFTER = 1  # SETUP_KILL_AFTER: TERM, then KILL this much later
SLACK = 4  # seconds for everything else setup does (each stand-in answers at once)
LOWERED = {
    "SETUP_PROBE_TIMEOUT": str(BOUND),
    "SETUP_TIMEOUT": str(BOUND),
    "SYNC_TIMEOUT": str(BOUND),
    "SETUP_KILL_AFTER": str(KILL_AFTER),
}
# The one line every failure ends with: what went wrong, then what to do.
ERROR_LINE = re.compile(r"^setup: error: [^\n]+: [^\n]+$")


@pytest.fixture(params=["timeout", "watchdog"])
def bounded_tools(request: pytest.FixtureRequest, utilities: Path) -> Path:
    """The basic tools with GNU timeout (Linux), or without it (stock macOS: the watchdog)."""
    if request.param == "watchdog":
        (utilities / "timeout").unlink(missing_ok=True)
    return utilities


def hang(pids: Path, *, ignore_term: bool) -> str:
    """Shell lines that never finish (and ignore TERM), recording their processes in `pids`."""
    trap = "trap '' TERM\n" if ignore_term else ""
    return f'{trap}echo $$ >>"{pids}"\nsleep 1000 &\necho $! >>"{pids}"\nwait'


def stand_in_uv(
    directory: Path,
    *,
    version: str = "echo 'uv 0.0.0 (stand-in)'",
    find: str = "exit 2",
    install: str = "exit 2",
    sync: str = "exit 2",
) -> Path:
    """A uv whose --version, `python find`, `python install` and `sync` run the given lines."""
    return executable(
        directory / "uv",
        f'case "$1 ${{2:-}}" in\n'
        f"'--version '*)\n{version}\nexit\n;;\n"
        f"'python find')\n{find}\nexit\n;;\n"
        f"'python install')\n{install}\nexit\n;;\n"
        f"'sync '*)\n{sync}\nexit\n;;\n"
        "esac\nexit 2",
    )


def assert_stopped(pids: Path) -> None:
    """Every process a stand-in recorded is gone (KILL takes a moment to land)."""
    recorded = [int(line) for line in pids.read_text().split()]
    assert recorded, "the stand-in never ran"
    deadline = time.monotonic() + 2
    while any(map(alive, recorded)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in recorded if alive(pid)], "a process outlived its bound"


def timed_setup(
    project: Path, path: list[Path], home: Path, *args: str, **extra: str
) -> tuple[int, str, float]:
    """setup_sh with the lowered bounds; also the seconds it took."""
    start = time.monotonic()
    status, out = setup_sh(project, path, home, *args, **{**LOWERED, **extra})
    return status, out, time.monotonic() - start


def assert_ends_with_what_to_do(out: str, *expected: str) -> None:
    """The last line is the one-line error, and says each of `expected`."""
    last = out.rstrip("\n").splitlines()[-1]
    assert ERROR_LINE.match(last), out
    for text in expected:
        assert text in last, out


def skip_if_fixed_uv() -> None:
    """setup.sh always tries these; a real uv there would be found after the stand-in."""
    fixed = [p for p in ("/usr/local/bin/uv", "/opt/homebrew/bin/uv") if Path(p).exists()]
    if fixed:
        pytest.skip(f"uv is installed at {fixed[0]}, a location setup.sh always checks")


@pytest.mark.parametrize("ignore_term", [False, True], ids=["hangs", "ignores-term"])
def test_uv_that_hangs_on_version_is_stopped(
    project: Path, bounded_tools: Path, tmp_path: Path, ignore_term: bool
) -> None:
    skip_if_fixed_uv()
    bins, pids = tmp_path / "bin", tmp_path / "pids"
    fake_python(bins, "python3.12", "3.12.4")
    uv = stand_in_uv(bins, version=hang(pids, ignore_term=ignore_term))
    status, out, took = timed_setup(project, [bins, bounded_tools], tmp_path, "--find")
    assert status == 1, out
    assert took < BOUND + KILL_AFTER + SLACK, out
    assert f"skipping uv {uv}: `--version` did not answer within {BOUND}s" in out
    assert_ends_with_what_to_do(out, "uv not found", "make setup UV=/path/to/uv")
    assert_stopped(pids)


@pytest.mark.parametrize("ignore_term", [False, True], ids=["hangs", "ignores-term"])
def test_python_that_hangs_is_skipped_within_its_bound(
    project: Path, bounded_tools: Path, tmp_path: Path, ignore_term: bool
) -> None:
    """The preferred python3.12 hangs: skipped after the bound, the next one is taken."""
    bins, pids = tmp_path / "bin", tmp_path / "pids"
    hung = executable(bins / "python3.12", hang(pids, ignore_term=ignore_term))
    fallback = fake_python(bins, "python3.11", "3.11.9")
    fake_uv(bins)
    status, out, took = timed_setup(project, [bins, bounded_tools], tmp_path, "--find")
    assert status == 0, out
    assert took < BOUND + KILL_AFTER + SLACK, out
    assert f"skipping {hung}: it did not answer within {BOUND}s" in out
    assert f"Python: {fallback} (3.11.9)" in out
    assert_stopped(pids)


def test_only_python_hangs_says_what_to_install(
    project: Path, bounded_tools: Path, tmp_path: Path
) -> None:
    bins, pids = tmp_path / "bin", tmp_path / "pids"
    executable(bins / "python3", hang(pids, ignore_term=True))
    fake_uv(bins)
    status, out, took = timed_setup(project, [bins, bounded_tools], tmp_path, "--find")
    assert status == 1, out
    assert took < BOUND + KILL_AFTER + SLACK, out
    assert "uv python install 3.12" in out
    assert_ends_with_what_to_do(out, "no Python >= 3.11 found", "install one as shown above")
    assert_stopped(pids)


@pytest.mark.parametrize(
    ("tool", "answer"),
    [("uv", "garbage\nmore garbage"), ("python", "Python 3.12 is great")],
)
def test_garbage_versions_are_refused(
    project: Path, utilities: Path, tmp_path: Path, tool: str, answer: str
) -> None:
    skip_if_fixed_uv()
    bins = tmp_path / "bin"
    print_answer = f"printf '%s\\n' '{answer}'"
    if tool == "uv":
        fake_python(bins, "python3.12", "3.12.4")
        uv = stand_in_uv(bins, version=print_answer)
        expected = f'skipping uv {uv}: `--version` answered "garbage" instead of uv\'s version'
        last = ("uv not found", "make setup UV=/path/to/uv")
    else:
        python = executable(bins / "python3", print_answer)
        fake_uv(bins)
        expected = f'skipping {python}: it answered "{answer}" instead of its version'
        last = ("no Python >= 3.11 found", "install one as shown above")
    status, out, _ = timed_setup(project, [bins, utilities], tmp_path, "--find")
    assert status == 1, out
    assert expected in out
    assert_ends_with_what_to_do(out, *last)


def test_uv_sync_that_ignores_term_is_killed(
    project: Path, bounded_tools: Path, tmp_path: Path
) -> None:
    bins, pids = tmp_path / "bin", tmp_path / "pids"
    fake_python(bins, "python3.12", "3.12.4")
    stand_in_uv(bins, sync=hang(pids, ignore_term=True))
    status, out, took = timed_setup(project, [bins, bounded_tools], tmp_path)
    assert status == 1, out
    assert took < BOUND + KILL_AFTER + SLACK, out
    assert_ends_with_what_to_do(
        out, f"uv sync did not finish in {BOUND}s", "then run `make setup` again"
    )
    assert_stopped(pids)
    assert not (project / ".venv" / ".setup-done").exists()


def test_uv_python_find_and_install_that_hang_are_stopped(
    project: Path, bounded_tools: Path, tmp_path: Path
) -> None:
    """No Python on PATH: `uv python find` hangs, then `uv python install` does."""
    bins, pids = tmp_path / "bin", tmp_path / "pids"
    stand_in_uv(bins, find=hang(pids, ignore_term=True), install=hang(pids, ignore_term=True))
    status, out, took = timed_setup(project, [bins, bounded_tools], tmp_path)
    assert status == 1, out
    # find, install: each TERM, then KILL.
    assert took < 2 * (BOUND + KILL_AFTER) + SLACK, out
    assert f"note: `uv python find` did not answer within {BOUND}s" in out
    assert_ends_with_what_to_do(
        out, f"uv python install 3.12 did not finish in {BOUND}s", "SETUP_TIMEOUT=300 make setup"
    )
    assert_stopped(pids)


# Forks a child that leaves its process group (setsid) and sleeps 30s with stdout inherited;
# returns once the child has left (so killing the group it came from misses it), recording its pid.
DETACH = """\
import os, sys, time
ready, left = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    os.close(left)
    time.sleep(30)
    os._exit(0)
os.close(left)
os.read(ready, 1)  # end of file: the child has closed its end, after setsid
with open(sys.argv[1], "a") as pids:
    pids.write(f"{pid}\\n")
"""


@pytest.fixture
def detached(tmp_path: Path) -> Iterator[Path]:
    """A file for the pids of `leave_detached` children, which are killed after the test."""
    pids = tmp_path / "detached-pids"
    pids.touch()
    (tmp_path / "detach.py").write_text(DETACH)
    yield pids
    for pid in map(int, pids.read_text().split()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def leave_detached(pids: Path, answer: str) -> str:
    """Shell lines that leave a child in a session of its own holding stdout open for 30s, then
    run `answer`: a tool that answers at once, but whose output stays open long past any bound
    (killing the tool's process group misses that child)."""
    return f'"{sys.executable}" "{pids.parent / "detach.py"}" "{pids}"\n{answer}'


def assert_detached(pids: Path, count: int) -> None:
    """The stand-ins did leave `count` detached children (the case is really exercised)."""
    assert len(pids.read_text().split()) == count, "a stand-in never left its child"


def test_answers_are_read_without_waiting_for_detached_children(
    project: Path, bounded_tools: Path, tmp_path: Path, detached: Path
) -> None:
    """uv --version and the python probe answer, but leave a child holding their stdout: setup
    reads the answers within the bound, instead of waiting for that output to close."""
    skip_if_fixed_uv()
    bins = tmp_path / "bin"
    python = executable(bins / "python3.12", leave_detached(detached, "echo 3.12.4"))
    uv = stand_in_uv(bins, version=leave_detached(detached, "echo 'uv 0.5.0'"), sync="exit 0")
    status, out, took = timed_setup(project, [bins, bounded_tools], tmp_path)
    assert status == 1, out
    assert took < BOUND + KILL_AFTER + SLACK, out
    assert f"uv: {uv} (uv 0.5.0)" in out
    assert f"Python: {python} (3.12.4) - preferred version from .python-version" in out
    assert_ends_with_what_to_do(
        out, f"uv sync ({uv}) exited 0 but created no .venv/bin/python", "make setup UV="
    )
    assert_detached(detached, 2)
    assert not (project / ".venv").exists()


def test_uv_python_find_that_leaves_a_detached_child_does_not_hold_setup(
    project: Path, bounded_tools: Path, tmp_path: Path, detached: Path
) -> None:
    """No Python on PATH: uv --version and `uv python find` (which finds none) each leave a
    child holding their stdout; setup still ends within the bound, saying what to install."""
    skip_if_fixed_uv()
    bins = tmp_path / "bin"
    uv = stand_in_uv(
        bins,
        version=leave_detached(detached, "echo 'uv 0.5.0'"),
        find=leave_detached(detached, "exit 2"),
    )
    status, out, took = timed_setup(project, [bins, bounded_tools], tmp_path, "--find")
    assert status == 1, out
    assert took < BOUND + KILL_AFTER + SLACK, out
    assert f"uv: {uv} (uv 0.5.0)" in out
    assert "did not answer" not in out
    assert_ends_with_what_to_do(out, "no Python >= 3.11 found", "install one as shown above")
    assert_detached(detached, 2)


def test_uv_whose_sync_creates_nothing(project: Path, utilities: Path, tmp_path: Path) -> None:
    bins = tmp_path / "bin"
    fake_python(bins, "python3.12", "3.12.4")
    uv = stand_in_uv(bins, sync="exit 0")
    status, out, _ = timed_setup(project, [bins, utilities], tmp_path)
    assert status == 1, out
    assert "touch" not in out
    assert_ends_with_what_to_do(
        out, f"uv sync ({uv}) exited 0 but created no .venv/bin/python", "make setup UV="
    )
    assert not (project / ".venv").exists()


def test_ctrl_c_stops_a_hanging_sync_at_once(
    project: Path, bounded_tools: Path, tmp_path: Path
) -> None:
    """Ctrl-C reaches the terminal's foreground group (make, setup), not the job's own group:
    setup's trap stops the job, and KILLs what ignores TERM, long before its bound."""
    bins, pids = tmp_path / "bin", tmp_path / "pids"
    fake_python(bins, "python3.12", "3.12.4")
    stand_in_uv(bins, sync=hang(pids, ignore_term=True))
    env = {"PATH": os.pathsep.join(map(str, [bins, bounded_tools])), "HOME": str(tmp_path),
           **LOWERED, "SYNC_TIMEOUT": "60"}  # fmt: skip
    with subprocess.Popen(
        ["/bin/bash", "scripts/setup.sh"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group, as a terminal's foreground job
    ) as setup:
        deadline = time.monotonic() + 10
        while len(pids.read_text().split() if pids.exists() else []) < 2:
            assert time.monotonic() < deadline, "uv sync never started"
            time.sleep(0.05)
        start = time.monotonic()
        os.killpg(setup.pid, signal.SIGINT)
        status = setup.wait(timeout=10)
        took = time.monotonic() - start
    assert status == 130
    assert took < 2
    assert_stopped(pids)


def test_a_bound_that_is_not_a_number_is_refused(
    project: Path, utilities: Path, tmp_path: Path
) -> None:
    status, out = setup_sh(project, [utilities], tmp_path, "--find", SYNC_TIMEOUT="5m")
    assert status == 1
    assert out.strip() == (
        "setup: error: SYNC_TIMEOUT=5m is not a whole number of seconds: "
        "set it to one, such as SYNC_TIMEOUT=300"
    )
