"""scripts/auto-sync.sh against real git repositories: a bare "remote", the clone that syncs
(run as cron runs it: minimal environment, from /), and a second clone that moves upstream."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import git
from project import Project, Renderer

CRON_PATH = "/usr/bin:/bin"


@pytest.fixture(scope="module")
def seed(renderer: Renderer) -> Path:
    """A service that auto-syncs every 3 hours; each test copies it."""
    return renderer.render(sync_interval_hours=3).path


def commit_file(repo: Path, name: str, text: str, message: str) -> str:
    """Write a file, commit it, return the new HEAD."""
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@dataclass
class Repos:
    """The remote, the clone under test (`local`) and another developer's clone (`other`)."""

    remote: Path
    local: Path
    other: Path
    home: Path

    def sync(self, *args: str, path: str = CRON_PATH, **env: str) -> tuple[int, str]:
        """Run the local clone's script as cron would: bare environment, from /."""
        full_env = {"PATH": path, "HOME": str(self.home), "SHELL": "/bin/sh", **env}
        result = subprocess.run(
            ["/bin/bash", str(self.local / "scripts" / "auto-sync.sh"), *(args or ("run",))],
            cwd="/", env=full_env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        return result.returncode, result.stdout + result.stderr

    def upstream_commit(self, name: str = "upstream.txt", text: str = "from upstream\n") -> str:
        """Another developer pushes a commit; return its hash."""
        git(self.other, "pull", "-q", "--ff-only")
        head = commit_file(self.other, name, text, f"Upstream change to {name}")
        git(self.other, "push", "-q", "origin", "main")
        return head

    def log(self) -> str:
        """The local clone's auto-sync log."""
        path = self.local / "logs" / "auto-sync.log"
        return path.read_text() if path.exists() else ""

    def state(self) -> tuple[str, str, str, str]:
        """HEAD, branch, index+worktree status (untracked included), stash list of `local`."""
        return (
            git(self.local, "rev-parse", "HEAD"),
            git(self.local, "symbolic-ref", "-q", "HEAD", check=False),
            git(self.local, "status", "--porcelain=v1", "--untracked-files=all"),
            git(self.local, "stash", "list"),
        )


@pytest.fixture
def repos(seed: Path, tmp_path: Path) -> Repos:
    """A fresh remote with the rendered project on main, and two clones of it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    work = tmp_path / "seed"
    shutil.copytree(seed, work, ignore=shutil.ignore_patterns(".git"))
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "Initial commit")
    git(work, "push", "-q", str(remote), "main")
    local, other = tmp_path / "local", tmp_path / "other"
    for clone in (local, other):
        git(tmp_path, "clone", "-q", str(remote), str(clone))
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Cron\n\temail = cron@example.com\n")
    return Repos(remote, local, other, home)


def assert_no_operation_in_progress(repo: Path) -> None:
    for name in ("MERGE_HEAD", "rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD"):
        assert not (repo / ".git" / name).exists(), name


def test_up_to_date(repos: Repos) -> None:
    status, out = repos.sync()
    assert status == 0, out
    assert "OK main is up to date with origin/main" in repos.log()
    assert repos.log().count("\n") == 1


def test_clean_and_behind_fast_forwards(repos: Repos) -> None:
    head = repos.upstream_commit()
    status, out = repos.sync()
    assert status == 0, out
    assert git(repos.local, "rev-parse", "HEAD") == head
    assert "UPDATED main fast-forwarded" in repos.log()
    assert "(1 commit(s) from origin/main)" in repos.log()


def test_local_and_upstream_commits_are_rebased_and_not_pushed(repos: Repos) -> None:
    upstream = repos.upstream_commit()
    commit_file(repos.local, "local.txt", "mine\n", "Local work")
    status, out = repos.sync()
    assert status == 0, out
    assert git(repos.local, "rev-parse", "HEAD^") == upstream
    assert git(repos.local, "log", "-1", "--format=%s") == "Local work"
    assert (repos.local / "local.txt").read_text() == "mine\n"
    assert git(repos.remote, "rev-parse", "main") == upstream  # nothing pushed
    assert "1 local commit(s) rebased onto 1 from origin/main" in repos.log()
    assert "1 commit(s) ahead of origin/main; not pushing" in repos.log()


def test_merge_strategy_makes_a_merge_commit(repos: Repos) -> None:
    upstream = repos.upstream_commit()
    local = commit_file(repos.local, "local.txt", "mine\n", "Local work")
    status, out = repos.sync(AUTO_SYNC_STRATEGY="merge")
    assert status == 0, out
    parents = git(repos.local, "log", "-1", "--format=%P").split()
    assert parents == [local, upstream]
    assert "merged onto 1 from origin/main" in repos.log()


def test_push_when_configured(repos: Repos) -> None:
    local = commit_file(repos.local, "local.txt", "mine\n", "Local work")
    status, out = repos.sync(AUTO_SYNC_PUSH="true")
    assert status == 0, out
    assert git(repos.remote, "rev-parse", "main") == local
    assert "PUSHED main: 1 commit(s) pushed to origin/main" in repos.log()


@pytest.mark.parametrize("strategy", ["rebase", "merge"])
def test_conflict_leaves_everything_as_it_was(repos: Repos, strategy: str) -> None:
    repos.upstream_commit("README.md", "upstream README\n")
    commit_file(repos.local, "README.md", "local README\n", "Local README")
    (repos.local / "notes.txt").write_text("untracked notes\n")
    before = repos.state()
    status, out = repos.sync(AUTO_SYNC_STRATEGY=strategy)
    assert status == 1, out
    assert repos.state() == before
    assert (repos.local / "README.md").read_text() == "local README\n"
    assert (repos.local / "notes.txt").read_text() == "untracked notes\n"
    assert_no_operation_in_progress(repos.local)
    assert (
        f"CONFLICT {strategy} of 1 local commit(s) and 1 from origin/main conflicts in: README.md"
        in repos.log()
    )
    # The next run tries again, and stops again the same way.
    assert repos.sync(AUTO_SYNC_STRATEGY=strategy)[0] == 1
    assert repos.state() == before


def test_uncommitted_changes_skip_the_run(repos: Repos) -> None:
    repos.upstream_commit()
    (repos.local / "README.md").write_text("work in progress\n")
    before = repos.state()
    status, out = repos.sync()
    assert status == 3, out
    assert repos.state() == before
    assert "SKIP tracked files have uncommitted changes (commit or stash them)" in repos.log()


def test_untracked_files_are_kept_through_a_fast_forward(repos: Repos) -> None:
    head = repos.upstream_commit()
    (repos.local / "scratch.txt").write_text("keep me\n")
    status, out = repos.sync()
    assert status == 0, out
    assert git(repos.local, "rev-parse", "HEAD") == head
    assert (repos.local / "scratch.txt").read_text() == "keep me\n"


def test_untracked_file_in_the_way_is_never_overwritten(repos: Repos) -> None:
    repos.upstream_commit("new.txt", "upstream version\n")
    (repos.local / "new.txt").write_text("my untracked version\n")
    before = repos.state()
    status, out = repos.sync()
    assert status == 1, out
    assert repos.state() == before
    assert (repos.local / "new.txt").read_text() == "my untracked version\n"
    assert "untracked working tree files would be overwritten" in repos.log()


def test_detached_head_is_skipped(repos: Repos) -> None:
    repos.upstream_commit()
    git(repos.local, "checkout", "-q", "--detach")
    before = repos.state()
    assert repos.sync()[0] == 3
    assert repos.state() == before
    assert "SKIP HEAD is detached" in repos.log()


def test_branch_without_upstream_is_skipped(repos: Repos) -> None:
    git(repos.local, "checkout", "-q", "-b", "feature")
    assert repos.sync()[0] == 3
    assert "SKIP branch feature has no upstream" in repos.log()


@pytest.mark.parametrize("operation", ["merge", "rebase", "cherry-pick"])
def test_operation_in_progress_is_skipped(repos: Repos, operation: str) -> None:
    upstream = repos.upstream_commit("README.md", "upstream README\n")
    commit_file(repos.local, "README.md", "local README\n", "Local README")
    git(repos.local, "fetch", "-q")
    target = "origin/main" if operation != "cherry-pick" else upstream
    git(repos.local, operation, target, check=False)  # stops on the conflict
    before = repos.state()
    assert repos.sync()[0] == 3
    assert repos.state() == before
    assert "operation is in progress (finish or abort it)" in repos.log()


def submodule_repo(tmp_path: Path) -> Path:
    """A small repository to use as a submodule."""
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    commit_file(lib, "lib.txt", "v1\n", "lib v1")
    return lib


def add_submodule(repo: Path, lib: Path) -> None:
    """Add `lib` as submodule `vendor/lib` of `repo`."""
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(repo, "commit", "-q", "-m", "Add submodule")


def test_local_submodule_change_is_skipped(repos: Repos, tmp_path: Path) -> None:
    add_submodule(repos.local, submodule_repo(tmp_path))
    git(repos.local, "push", "-q", "origin", "main")
    repos.upstream_commit()
    commit_file(repos.local / "vendor" / "lib", "lib.txt", "local v2\n", "local lib change")
    before = repos.state()
    assert repos.sync()[0] == 3
    assert repos.state() == before
    assert "SKIP a submodule has local changes" in repos.log()


def test_upstream_submodule_change_is_skipped(repos: Repos, tmp_path: Path) -> None:
    add_submodule(repos.other, submodule_repo(tmp_path))
    git(repos.other, "push", "-q", "origin", "main")
    before = repos.state()
    assert repos.sync()[0] == 3
    assert repos.state() == before
    assert "SKIP upstream changes a submodule" in repos.log()


def test_unreachable_remote_fails_cleanly(repos: Repos) -> None:
    git(repos.local, "remote", "set-url", "origin", str(repos.remote.parent / "gone.git"))
    before = repos.state()
    status, out = repos.sync()
    assert status == 2, out
    assert repos.state() == before
    assert "ERROR fetch from origin failed or timed out after 60s" in repos.log()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


def test_hanging_fetch_is_bounded_by_the_timeout(repos: Repos, silent_server: int) -> None:
    git(repos.local, "remote", "set-url", "origin", f"http://127.0.0.1:{silent_server}/repo.git")
    before = repos.state()
    started = time.monotonic()
    status, out = repos.sync(AUTO_SYNC_TIMEOUT="2")
    assert status == 2, out
    assert time.monotonic() - started < 30
    assert repos.state() == before
    assert "ERROR fetch from origin failed or timed out after 2s" in repos.log()


def hold_lock_with_flock(repos: Repos) -> subprocess.Popen[bytes]:
    """Another run in progress: a process holding the flock on the lock file."""
    lock = repos.local / ".git" / "auto-sync.lock"
    # -o: only flock itself holds the lock, so killing it releases the lock.
    holder = subprocess.Popen(["flock", "-o", str(lock), "sleep", "30"])
    for _ in range(100):
        if lock.exists():
            break
        time.sleep(0.05)
    time.sleep(0.2)
    return holder


def test_overlapping_run_exits_at_once(repos: Repos) -> None:
    repos.upstream_commit()
    before = repos.state()
    holder = hold_lock_with_flock(repos)
    try:
        started = time.monotonic()
        status, out = repos.sync()
        assert time.monotonic() - started < 5
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait()
    assert status == 4, out
    assert repos.state() == before
    assert "BUSY another auto-sync run holds the lock" in repos.log()
    # The holder is gone: its lock file stays, and the next run proceeds.
    assert repos.sync()[0] == 0


def path_without_flock(tmp_path: Path) -> str:
    """/usr/bin:/bin as a directory of links, minus flock (as on macOS)."""
    tools = tmp_path / "no-flock"
    tools.mkdir()
    for directory in ("/usr/bin", "/bin"):
        for entry in Path(directory).iterdir():
            if entry.name != "flock" and not (tools / entry.name).exists():
                (tools / entry.name).symlink_to(entry)
    return str(tools)


def test_lock_directory_fallback_without_flock(repos: Repos, tmp_path: Path) -> None:
    path = path_without_flock(tmp_path)
    lock_dir = repos.local / ".git" / "auto-sync.lock.d"
    lock_dir.mkdir()
    (lock_dir / "pid").write_text(f"{os.getpid()}\n")  # a live process holds it
    assert repos.sync(path=path)[0] == 4
    (lock_dir / "pid").write_text("999999999\n")  # its owner died without cleaning up
    status, out = repos.sync(path=path)
    assert status == 0, out
    assert "removing a stale lock left by process 999999999" in repos.log()
    assert not lock_dir.exists()


def test_log_is_rotated_by_size(repos: Repos) -> None:
    for _ in range(14):  # about 60 bytes a line: a rotation every third run
        assert repos.sync(AUTO_SYNC_LOG_BYTES="150")[0] == 0
    logs = repos.local / "logs"
    assert sorted(p.name for p in logs.iterdir()) == [
        "auto-sync.log", "auto-sync.log.1", "auto-sync.log.2", "auto-sync.log.3",
    ]  # fmt: skip
    assert all(p.stat().st_size < 300 for p in logs.iterdir())


# --- cron ------------------------------------------------------------------------------------

STAND_IN_CRONTAB = """#!/bin/sh
# crontab stand-in: the table lives in $CRONTAB_FILE.
case "$1" in
  -l) [ -f "$CRONTAB_FILE" ] || { echo "no crontab for tester" >&2; exit 1; }
      cat "$CRONTAB_FILE" ;;
  -) cat > "$CRONTAB_FILE" ;;
  *) echo "usage: crontab -l | -" >&2; exit 2 ;;
esac
"""


@pytest.fixture
def crontab(tmp_path: Path) -> tuple[Path, Path]:
    """(stand-in crontab command, the file holding its table)."""
    command = tmp_path / "bin" / "crontab"
    command.parent.mkdir()
    command.write_text(STAND_IN_CRONTAB)
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return command, tmp_path / "table"


def test_setup_sync_installs_one_line_and_keeps_others(
    repos: Repos, crontab: tuple[Path, Path]
) -> None:
    command, table = crontab
    theirs = "30 2 * * * /usr/bin/backup --all # someone else's job\n"
    table.write_text(theirs)
    env = {"CRONTAB": str(command), "CRONTAB_FILE": str(table)}
    for _ in range(2):
        status, out = repos.sync("install", **env)
        assert status == 0, out
    lines = table.read_text().splitlines()
    assert lines[0] == theirs.strip()
    ours = [line for line in lines if line.endswith(f"# auto-sync: {repos.local}")]
    assert len(ours) == 1
    assert len(lines) == 2
    assert ours[0].startswith(f"0 */3 * * * /bin/bash '{repos.local}/scripts/auto-sync.sh' run")

    # The line works as cron runs it: /bin/sh, minimal PATH, from /.
    cron_command = ours[0].split(" ", 5)[5].replace("\\%", "%")
    subprocess.run(["/bin/sh", "-c", cron_command], cwd="/", check=True,
                   env={"PATH": CRON_PATH, "HOME": str(repos.home)})  # fmt: skip
    assert "OK main is up to date" in repos.log()

    status, out = repos.sync("status", **env)
    assert f"cron:     installed: {ours[0]}" in out
    assert "last run: " in out
    assert "OK main is up to date" in out
    assert "upstream: origin/main: 0 ahead, 0 behind (as of the last fetch)" in out

    assert repos.sync("remove", **env)[0] == 0
    assert table.read_text() == theirs
    status, out = repos.sync("remove", **env)
    assert "nothing to remove" in out
    assert table.read_text() == theirs


def test_remove_sync_spares_a_project_whose_path_extends_ours(
    repos: Repos, crontab: tuple[Path, Path]
) -> None:
    command, table = crontab
    other = f"{repos.local}-v2"
    similar = f"0 * * * * /bin/bash '{other}/scripts/auto-sync.sh' run # auto-sync: {other}\n"
    table.write_text(similar)
    env = {"CRONTAB": str(command), "CRONTAB_FILE": str(table)}
    repos.sync("install", **env)
    repos.sync("remove", **env)
    assert table.read_text() == similar


def test_unreadable_crontab_is_never_replaced(repos: Repos, tmp_path: Path) -> None:
    broken = tmp_path / "crontab"
    broken.write_text('#!/bin/sh\necho "crontab: permission denied" >&2\nexit 1\n')
    broken.chmod(0o755)
    status, out = repos.sync("install", CRONTAB=str(broken))
    assert status == 2
    assert "crontab -l failed, crontab left alone: crontab: permission denied" in out


def test_missing_cron_is_one_clear_line(repos: Repos) -> None:
    status, out = repos.sync("install", CRONTAB="no-such-crontab")
    assert status == 2
    assert out.strip() == (
        "auto-sync: no-such-crontab not found: install cron (apt install cron; macOS has it)"
    )


def test_make_targets(repos: Repos, crontab: tuple[Path, Path]) -> None:
    """The Makefile's sync targets run the script (no .venv needed)."""
    command, table = crontab
    sync_env = {"CRONTAB": str(command), "CRONTAB_FILE": str(table)}
    repos.upstream_commit()

    def make(target: str, *args: str) -> str:
        return Project(repos.local).make(target, *args, env=sync_env).stdout

    assert "UPDATED main fast-forwarded" in make("auto-sync")
    assert "auto-sync: installed:" in make("setup-sync")
    assert "cron:     installed:" in make("check-sync")
    assert "UPDATED main fast-forwarded" in make("sync-log")
    assert make("sync-log", "SYNC_LOG_LINES=1").count("\n") == 1
    assert "removed the crontab line" in make("remove-sync")
    assert table.read_text() == ""
