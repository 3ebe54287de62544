"""scripts/auto-sync.py against real git repositories: a bare "remote", the clone that syncs
(run as cron runs it: minimal environment, from /), and a second clone that moves upstream.

Every run of the script is checked to lose nothing in the clone (`Snapshot`): every commit,
staged and unstaged change, untracked and ignored file, and stash entry is still there after it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import alive, git
from project import Project, Renderer

CRON_PATH = "/usr/bin:/bin"
# The interpreter that runs the script in these tests, as cron would run it: by absolute path.
PYTHON = sys.executable
LOG_DIR = "logs/"  # the script's own log: the one thing a run may change that is not git's


@pytest.fixture(scope="module")
def seed(renderer: Renderer) -> Path:
    """A service that auto-syncs every 3 hours; each test copies it."""
    return renderer.render(sync_interval_hours=3).path


def commit_file(repo: Path, name: str, text: str, message: str) -> str:
    """Write a file, commit it, return the new HEAD."""
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text)
    git(repo, "add", "-f", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def status_entries(repo: Path) -> list[str]:
    """`git status` (porcelain v2): every changed, untracked and ignored file, one per entry."""
    out = git(repo, "status", "--porcelain=v2", "-z", "--untracked-files=all",
              "--ignored=traditional", "--ignore-submodules=none")  # fmt: skip
    return [entry for entry in out.split("\0") if entry]


def index_entries(repo: Path, paths: set[str]) -> dict[str, str]:
    """The index entries (mode, blob, stage) of `paths`; "(none)" for one not in the index."""
    found = dict.fromkeys(paths, "(none)")
    if paths:
        for entry in names(repo, "ls-files", "-s"):
            info, path = entry.split("\t", 1)
            if path in paths:
                found[path] = info if found[path] == "(none)" else f"{found[path]};{info}"
    return found


def names(repo: Path, *args: str) -> list[str]:
    """The NUL-separated names a git command prints (with -z)."""
    return [name for name in git(repo, *args, "-z").split("\0") if name]


def content(path: Path) -> bytes | None:
    """What is at `path`: a file's bytes, a link's target, a directory marker, or None."""
    if path.is_symlink():
        return b"link:" + os.fsencode(path.readlink())
    if path.is_dir():
        return b"<directory>"
    return path.read_bytes() if path.exists() else None


@dataclass(frozen=True)
class Snapshot:
    """What a run must never lose in a clone.

    Commits are compared by author, author date and message (a rebase re-creates them with the
    same), each must still be on a branch, a tag or HEAD; staged changes by their index entries;
    unstaged changes and untracked and ignored files by their bytes; stash entries exactly.
    """

    commits: frozenset[str]
    staged: dict[str, str]
    files: dict[str, bytes | None]
    stashes: str

    @classmethod
    def take(cls, repo: Path) -> Snapshot:
        """The snapshot of the clone `repo` is in (all of it: `repo` may be a subdirectory)."""
        log = git(repo, "log", "--branches", "--tags", "HEAD", "--format=%an <%ae> %at %B%x1e")
        top = Path(git(repo, "rev-parse", "--show-toplevel"))
        logs = git(repo, "rev-parse", "--show-prefix") + LOG_DIR  # paths from the top
        staged, changed = set(), []
        fields = iter(status_entries(repo))
        for entry in fields:
            if entry[:1] in {"?", "!"}:  # untracked, ignored
                changed.append(entry[2:])
                continue
            kind, xy = entry[0], entry[2:4]
            path = entry.split(" ", {"1": 8, "2": 9, "u": 10}[kind])[-1]
            if kind == "2":
                next(fields)  # the path it was renamed from
            if xy[0] != "." or kind == "u":
                staged.add(path)
            if xy[1] != ".":
                changed.append(path)
        return cls(
            commits=frozenset(c.strip() for c in log.split("\x1e") if c.strip()),
            staged=index_entries(top, staged),
            files={p: content(top / p) for p in changed if not p.startswith(logs)},
            stashes=git(repo, "stash", "list", "--format=%H %gs"),
        )

    def lost_in(self, repo: Path) -> list[str]:
        """What of this snapshot `repo` no longer has (nothing, after any run)."""
        now = Snapshot.take(repo)
        top = Path(git(repo, "rev-parse", "--show-toplevel"))
        lost = [f"commit {c.splitlines()[0]!r}" for c in self.commits - now.commits]
        index = index_entries(top, set(self.staged))
        lost += [f"staged {p}" for p, entry in self.staged.items() if index[p] != entry]
        lost += [f"file {p}" for p, data in self.files.items() if content(top / p) != data]
        if now.stashes != self.stashes:
            lost.append(f"stash entries: {self.stashes!r} -> {now.stashes!r}")
        return lost


@contextlib.contextmanager
def nothing_lost(repo: Path) -> Iterator[None]:
    """Check that what runs inside the block loses nothing in `repo`."""
    before = Snapshot.take(repo)
    yield
    assert before.lost_in(repo) == []


@dataclass
class Repos:
    """The remote, the clone under test (`local`) and another developer's clone (`other`).

    `local` and `other` are the project in each clone: its top, or the subdirectory `prefix`
    ("proj/") of the repository; git prints paths from the top, so with `prefix` in front.
    """

    remote: Path
    local: Path
    other: Path
    home: Path
    prefix: str = ""

    def sync(self, *args: str, path: str = CRON_PATH, **env: str) -> tuple[int, str]:
        """Run the local clone's script as cron would: bare environment, from /; and check
        that the run lost nothing in the clone."""
        full_env = {"PATH": path, "HOME": str(self.home), "SHELL": "/bin/sh", **env}
        with nothing_lost(self.local):
            result = subprocess.run(
                [PYTHON, str(self.local / "scripts" / "auto-sync.py"), *(args or ("run",))],
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


# Where the project is in its repository: `@pytest.mark.parametrize("repos", LAYOUTS,
# indirect=True)` runs a test in both; without it, the project is the repository.
LAYOUTS = ["", "proj"]


@pytest.fixture
def repos(seed: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Repos:
    """A fresh remote with the rendered project on main, and two clones of it; the project at
    the top of the repository, or in the subdirectory the test's parameter names."""
    subdirectory: str = getattr(request, "param", "")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    work = tmp_path / "seed"
    shutil.copytree(seed, work / subdirectory, ignore=shutil.ignore_patterns(".git"))
    if subdirectory:  # a repository with more than the project in it
        (work / "README.md").write_text("The project is in a subdirectory.\n")
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
    prefix = f"{subdirectory}/" if subdirectory else ""
    return Repos(remote, local / subdirectory, other / subdirectory, home, prefix)


def git_file(repo: Path, name: str) -> Path:
    """A file in the git directory of `repo` (which may be a subdirectory of the work tree)."""
    return repo / git(repo, "rev-parse", "--git-path", name)


def assert_no_operation_in_progress(repo: Path) -> None:
    for name in ("MERGE_HEAD", "rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD"):
        assert not git_file(repo, name).exists(), name


def test_snapshot_sees_every_kind_of_loss(repos: Repos) -> None:
    """The helper every run goes through notices each thing a run could lose."""
    local = repos.local
    commit_file(local, "mine.txt", "mine\n", "Local work")
    (local / "stashed.txt").write_text("stash me\n")
    git(local, "stash", "push", "-q", "--include-untracked")
    (local / "README.md").write_text("unstaged\n")
    (local / "pyproject.toml").write_text("staged\n")
    git(local, "add", "pyproject.toml")
    (local / "notes.txt").write_text("untracked\n")
    (local / ".env").write_text("SECRET=1\n")
    before = Snapshot.take(local)
    assert before.lost_in(local) == []
    (local / ".env").write_text("SECRET=2\n")
    (local / "notes.txt").unlink()
    (local / "README.md").write_text("other\n")
    git(local, "reset", "-q", "pyproject.toml")
    git(local, "stash", "drop", "-q")
    git(local, "reset", "-q", "--soft", "HEAD^")
    lost = before.lost_in(local)
    assert [item.split(" ")[0] for item in lost] == [
        "commit", "staged", "file", "file", "file", "stash",
    ]  # fmt: skip
    assert {item.split(" ")[1] for item in lost if item.startswith("file")} == {
        "README.md", "notes.txt", ".env",
    }  # fmt: skip


def test_up_to_date(repos: Repos) -> None:
    status, out = repos.sync()
    assert status == 0, out
    assert "OK main is up to date with origin/main" in repos.log()
    assert repos.log().count("\n") == 1


@pytest.mark.parametrize("repos", LAYOUTS, indirect=True)
def test_clean_and_behind_fast_forwards(repos: Repos) -> None:
    head = repos.upstream_commit()
    status, out = repos.sync()
    assert status == 0, out
    assert git(repos.local, "rev-parse", "HEAD") == head
    assert "UPDATED main fast-forwarded" in repos.log()
    assert "(1 commit(s) from origin/main)" in repos.log()


@pytest.mark.parametrize("repos", LAYOUTS, indirect=True)
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
    subject = git(repos.local, "log", "-1", "--format=%s")
    assert subject == "Merge remote-tracking branch 'origin/main'"
    assert "merged onto 1 from origin/main" in repos.log()


def test_push_when_configured(repos: Repos) -> None:
    local = commit_file(repos.local, "local.txt", "mine\n", "Local work")
    status, out = repos.sync(AUTO_SYNC_PUSH="true")
    assert status == 0, out
    assert git(repos.remote, "rev-parse", "main") == local
    assert "PUSHED main: 1 commit(s) pushed to origin/main" in repos.log()


@pytest.mark.parametrize("repos", LAYOUTS, indirect=True)
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
        f"CONFLICT {strategy} of 1 local commit(s) and 1 from origin/main conflicts in: "
        f"{repos.prefix}README.md" in repos.log()
    )
    # The next run tries again, and stops again the same way.
    assert repos.sync(AUTO_SYNC_STRATEGY=strategy)[0] == 1
    assert repos.state() == before


def test_uncommitted_changes_skip_the_run(repos: Repos) -> None:
    repos.upstream_commit()
    (repos.local / "README.md").write_text("work in progress\n")
    (repos.local / "pyproject.toml").write_text("staged work\n")
    git(repos.local, "add", "pyproject.toml")
    before = repos.state()
    status, out = repos.sync()
    assert status == 3, out
    assert repos.state() == before
    assert "SKIP tracked files have uncommitted changes (commit or stash them)" in repos.log()


def test_stashes_and_ignored_files_are_kept_through_a_rebase(repos: Repos) -> None:
    repos.upstream_commit()
    commit_file(repos.local, "local.txt", "mine\n", "Local work")
    (repos.local / "README.md").write_text("stashed work\n")
    git(repos.local, "stash", "push", "-q")
    (repos.local / ".env").write_text("SECRET=mine\n")
    (repos.local / "var").mkdir()
    (repos.local / "var" / "app.db").write_bytes(b"\x00SQLite")
    status, out = repos.sync()
    assert status == 0, out
    assert "1 local commit(s) rebased onto 1 from origin/main" in repos.log()


def test_untracked_files_are_kept_through_a_fast_forward(repos: Repos) -> None:
    head = repos.upstream_commit()
    (repos.local / "scratch.txt").write_text("keep me\n")
    status, out = repos.sync()
    assert status == 0, out
    assert git(repos.local, "rev-parse", "HEAD") == head
    assert (repos.local / "scratch.txt").read_text() == "keep me\n"


@pytest.mark.parametrize("repos", LAYOUTS, indirect=True)
def test_untracked_file_in_the_way_is_never_overwritten(repos: Repos) -> None:
    repos.upstream_commit("new.txt", "upstream version\n")
    (repos.local / "new.txt").write_text("my untracked version\n")
    before = repos.state()
    status, out = repos.sync()
    assert status == 3, out
    assert repos.state() == before
    assert (repos.local / "new.txt").read_text() == "my untracked version\n"
    assert (
        "SKIP origin/main writes 1 path(s) that exist here as untracked or ignored files, which "
        f"git would overwrite: {repos.prefix}new.txt (move them away; the next run syncs)"
    ) in repos.log()


# How the incoming change and the local file meet: (what upstream force-adds, what is here).
IN_THE_WAY = {
    "env": (".env", ".env"),  # a secret in .env, never in git
    "database": ("var/app.db", "var/app.db"),  # inside an ignored directory
    "directory": ("var", "var/app.db"),  # a file upstream where an ignored directory is here
}


@pytest.mark.parametrize("repos", LAYOUTS, indirect=True)
@pytest.mark.parametrize("how", ["fast-forward", "rebase", "merge"])
@pytest.mark.parametrize("case", list(IN_THE_WAY))
def test_an_incoming_path_never_overwrites_an_ignored_file(
    repos: Repos, case: str, how: str
) -> None:
    incoming, here = IN_THE_WAY[case]
    git(repos.other, "pull", "-q", "--ff-only")
    commit_file(repos.other, incoming, "FROM_UPSTREAM=1\n", f"Add {incoming}")  # add -f
    git(repos.other, "push", "-q", "origin", "main")
    if how != "fast-forward":
        commit_file(repos.local, "local.txt", "mine\n", "Local work")
    (repos.local / here).parent.mkdir(parents=True, exist_ok=True)
    (repos.local / here).write_bytes(b"SECRET=only-here\n")
    assert git(repos.local, "check-ignore", here) == here
    before = repos.state()
    strategy = "merge" if how == "merge" else "rebase"
    status, out = repos.sync(AUTO_SYNC_STRATEGY=strategy)
    assert status == 3, out
    assert repos.state() == before
    assert (repos.local / here).read_bytes() == b"SECRET=only-here\n"
    assert_no_operation_in_progress(repos.local)
    assert (
        "SKIP origin/main writes 1 path(s) that exist here as untracked or ignored files, which "
        f"git would overwrite: {repos.prefix}{incoming} (move them away; the next run syncs)"
    ) in repos.log()
    # Once the file is moved away, the next run syncs.
    shutil.move(repos.local / incoming, repos.home / "moved")
    status, out = repos.sync(AUTO_SYNC_STRATEGY=strategy)
    assert status == 0, out
    assert (repos.local / incoming).is_file()


@pytest.mark.parametrize("repos", LAYOUTS, indirect=True)
def test_a_replayed_local_commit_never_overwrites_an_ignored_file(repos: Repos) -> None:
    """A .env.local committed by mistake, then untracked (git rm --cached): a rebase replays
    both commits, writing the file and deleting it."""
    repos.upstream_commit()
    commit_file(repos.local, ".env.local", "committed by mistake\n", "Add .env.local")
    git(repos.local, "rm", "-q", "--cached", ".env.local")
    git(repos.local, "commit", "-q", "-m", "Untrack .env.local")
    (repos.local / ".env.local").write_text("SECRET=real\n")
    before = repos.state()
    status, out = repos.sync()
    assert status == 3, out
    assert repos.state() == before
    assert f"git would overwrite: {repos.prefix}.env.local" in repos.log()
    # A merge replays nothing: it goes through.
    status, out = repos.sync(AUTO_SYNC_STRATEGY="merge")
    assert status == 0, out
    assert (repos.local / ".env.local").read_text() == "SECRET=real\n"


@pytest.mark.parametrize("repos", ["proj"], indirect=True)
@pytest.mark.parametrize("how", ["fast-forward", "rebase"])
@pytest.mark.parametrize("where", ["proj/.env", "notes.txt"])
def test_in_a_subdirectory_no_file_of_the_repository_is_overwritten(
    repos: Repos, how: str, where: str
) -> None:
    """The project in a subdirectory of its repository: an ignored .env of the project, or an
    untracked file at the top of the repository (outside the project), that upstream adds."""
    top, other_top = repos.local.parent, repos.other.parent
    git(other_top, "pull", "-q", "--ff-only")
    commit_file(other_top, where, "FROM_UPSTREAM=1\n", f"Add {where}")  # add -f
    git(other_top, "push", "-q", "origin", "main")
    if how == "rebase":
        commit_file(repos.local, "local.txt", "mine\n", "Local work")
    (top / where).write_text("SECRET=only-here\n")
    before, state = Snapshot.take(top), repos.state()
    status, out = repos.sync()
    assert status == 3, out
    assert before.lost_in(top) == []
    assert repos.state() == state
    assert (top / where).read_text() == "SECRET=only-here\n"
    assert f"which git would overwrite: {where} (move them away" in out


def force_push(repos: Repos, commit: str) -> None:
    """Another developer rewrites origin's main to `commit` (git push --force)."""
    git(repos.other, "push", "-q", "--force", "origin", f"{commit}:main")


@pytest.mark.parametrize("repos", LAYOUTS, indirect=True)
@pytest.mark.parametrize("strategy", ["rebase", "merge"])
def test_commits_dropped_upstream_are_never_brought_back(repos: Repos, strategy: str) -> None:
    start = git(repos.local, "rev-parse", "HEAD")
    leaked = repos.upstream_commit(".env.production", "TOKEN=leaked\n")
    assert repos.sync()[0] == 0  # this clone now has the leaked commit
    commit_file(repos.local, "local.txt", "mine\n", "Local work")
    # The leak is removed upstream by a force-push, and work goes on.
    git(repos.other, "reset", "-q", "--hard", start)
    replacement = commit_file(repos.other, "fix.txt", "fixed\n", "Rotate the token")
    force_push(repos, replacement)
    before = repos.state()
    status, out = repos.sync(AUTO_SYNC_STRATEGY=strategy)
    assert status == 3, out
    assert repos.state() == before
    assert git(repos.remote, "rev-parse", "main") == replacement
    assert (
        "SKIP origin/main was rewritten (force-pushed) and dropped 1 commit(s) that main still "
        f"holds ({leaked[:12]}): not merged back or pushed; git pull --rebase drops them and "
        "keeps your own commits"
    ) in repos.log()
    # The next run stops the same way, even once the reflog that showed it has expired.
    git(repos.local, "reflog", "expire", "--expire=now", "--all")
    assert repos.sync(AUTO_SYNC_STRATEGY=strategy)[0] == 3
    assert repos.state() == before


@pytest.mark.parametrize("repos", LAYOUTS, indirect=True)
@pytest.mark.parametrize("rewrite", ["reverted", "replaced"])
def test_with_push_a_dropped_commit_is_never_pushed_again(repos: Repos, rewrite: str) -> None:
    start = git(repos.local, "rev-parse", "HEAD")
    leaked = repos.upstream_commit(".env.production", "TOKEN=leaked\n")
    assert repos.sync()[0] == 0
    if rewrite == "reverted":  # origin back where it was: this clone is only ahead
        force_push(repos, start)
    else:  # a local commit on top, and origin's main replaced by another commit
        commit_file(repos.local, "local.txt", "mine\n", "Local work")
        git(repos.other, "reset", "-q", "--hard", start)
        force_push(repos, commit_file(repos.other, "fix.txt", "fixed\n", "Rotate the token"))
    remote_main = git(repos.remote, "rev-parse", "main")
    status, out = repos.sync(AUTO_SYNC_PUSH="true")
    assert status == 3, out
    assert git(repos.remote, "rev-parse", "main") == remote_main
    assert "was rewritten (force-pushed) and dropped 1 commit(s)" in repos.log()
    # Resolved by hand as the log says: the leak is gone, local work is kept and pushed.
    git(repos.local, "pull", "-q", "--rebase")
    status, out = repos.sync(AUTO_SYNC_PUSH="true")
    assert status == 0, out
    pushed = git(repos.remote, "log", "--format=%s", "main")
    assert "Upstream change to .env.production" not in pushed
    assert ("Local work" in pushed) == (rewrite == "replaced")
    assert not git_file(repos.local, "auto-sync-dropped").exists()
    assert git(repos.remote, "branch", "--contains", leaked) == ""


@pytest.mark.parametrize("push", ["false", "true"])
@pytest.mark.parametrize("fetched", ["by auto-sync", "by hand, then garbage-collected"])
def test_a_dropped_commit_is_caught_after_upstream_is_deleted_and_pushed_again(
    repos: Repos, push: str, fetched: str
) -> None:
    """The run's own fetch prunes a deleted upstream branch, and its reflog: the tips earlier
    runs saw (.git/auto-sync-upstream) still show what it dropped once it is pushed again."""
    git(repos.remote, "config", "receive.denyDeleteCurrent", "ignore")
    start = git(repos.local, "rev-parse", "HEAD")
    leaked = repos.upstream_commit(".env.production", "TOKEN=leaked\n")
    assert repos.sync()[0] == 0  # this clone has the leak
    commit_file(repos.local, "local.txt", "mine\n", "Local work")
    if fetched != "by auto-sync":  # an upstream tip this clone never holds, only fetched
        repos.upstream_commit("more.txt")
        git(repos.local, "fetch", "-q")
    git(repos.other, "push", "-q", "origin", ":main")  # deleted upstream
    status, out = repos.sync(AUTO_SYNC_PUSH=push)
    assert status == 3, out
    assert "SKIP the upstream of main, origin/main, is gone" in out
    if fetched != "by auto-sync":  # the tip fetched by hand is gone for good
        git(repos.local, "reflog", "expire", "--expire=now", "--all")
        git(repos.local, "gc", "-q", "--prune=now")
    # Pushed again without the leak.
    git(repos.other, "reset", "-q", "--hard", start)
    replacement = commit_file(repos.other, "fix.txt", "fixed\n", "Rotate the token")
    git(repos.other, "push", "-q", "origin", "HEAD:main")
    before = repos.state()
    for _ in range(2):  # and again, from .git/auto-sync-dropped
        status, out = repos.sync(AUTO_SYNC_PUSH=push)
        assert status == 3, out
        assert repos.state() == before
        assert git(repos.remote, "rev-parse", "main") == replacement
        assert out.strip().endswith(
            "SKIP origin/main was rewritten (force-pushed) and dropped 1 commit(s) that main "
            f"still holds ({leaked[:12]}): not merged back or pushed; git rebase -i origin/main, "
            "deleting their lines, drops them and keeps your own commits"
        ), out
    # Resolved by hand as the log says (git rebase -i, the leak's line deleted).
    git(repos.local, "rebase", "-q", "--onto", "origin/main", leaked)
    status, out = repos.sync(AUTO_SYNC_PUSH=push)
    assert status == 0, out
    assert git(repos.remote, "branch", "--contains", leaked) == ""
    assert git(repos.local, "branch", "--contains", leaked) == ""
    pushed = git(repos.remote, "log", "--format=%s", "main")
    assert ("Local work" in pushed) == (push == "true")


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


def test_a_deleted_upstream_branch_is_a_one_line_skip(repos: Repos) -> None:
    git(repos.other, "checkout", "-q", "-b", "feature")
    git(repos.other, "push", "-q", "origin", "feature")
    git(repos.local, "fetch", "-q")
    git(repos.local, "checkout", "-q", "-b", "feature", "--track", "origin/feature")
    git(repos.other, "push", "-q", "origin", "--delete", "feature")  # merged and deleted
    before = repos.state()
    line = (
        "SKIP the upstream of feature, origin/feature, is gone (deleted on origin): "
        "git branch --set-upstream-to=<another> or --unset-upstream"
    )
    for _ in range(2):  # pruned by this run's fetch; then already gone before the next
        status, out = repos.sync()
        assert status == 3, out
        assert out.count("\n") == 1
        assert out.strip().endswith(line)
        assert repos.state() == before
    assert "ERROR" not in repos.log()


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


HANGING_SSH = """#!/bin/sh
# An ssh that ignores SIGTERM and hangs, with a child that does the same.
trap '' TERM
echo $$ >> '{pids}'
sleep 120 &
echo $! >> '{pids}'
wait
"""


def assert_all_gone(pids: Path) -> None:
    """Every process the hanging ssh recorded is gone (within a moment)."""
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 2
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in started)


@pytest.fixture
def hanging_ssh(repos: Repos, tmp_path: Path) -> Iterator[Path]:
    """origin over ssh through a stand-in that ignores SIGTERM and hangs (the project's own
    core.sshCommand, which the script keeps); returns the file its processes are listed in."""
    pids = tmp_path / "ssh.pids"
    ssh = tmp_path / "bin" / "hanging-ssh"
    ssh.parent.mkdir(exist_ok=True)
    ssh.write_text(HANGING_SSH.format(pids=pids))
    ssh.chmod(0o755)
    git(repos.local, "config", "core.sshCommand", str(ssh))
    yield pids
    for pid in pids.read_text().split() if pids.exists() else []:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


@pytest.mark.parametrize("step", ["fetch", "push"])
def test_a_transport_that_ignores_sigterm_is_killed_with_its_children(
    repos: Repos, hanging_ssh: Path, step: str
) -> None:
    url = "ssh://127.0.0.1/srv/repo.git"
    if step == "fetch":
        git(repos.local, "remote", "set-url", "origin", url)
    else:
        git(repos.local, "remote", "set-url", "--push", "origin", url)
        commit_file(repos.local, "local.txt", "mine\n", "Local work")
    before = repos.state()
    started = time.monotonic()
    status, out = repos.sync(AUTO_SYNC_TIMEOUT="1", AUTO_SYNC_PUSH="true")
    elapsed = time.monotonic() - started
    assert status == 2, out
    assert elapsed < 10, elapsed  # 1 s, then SIGTERM, and SIGKILL 3 s later at most
    assert repos.state() == before
    target = "fetch from origin" if step == "fetch" else "push to origin/main"
    assert f"ERROR {target} failed or timed out after 1s" in repos.log()
    assert_all_gone(hanging_ssh)


def lock_is_held(repos: Repos) -> bool:
    """Whether some process holds the run's lock."""
    lock = repos.local / ".git" / "auto-sync.lock"
    if not lock.exists():
        return False
    with lock.open("a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(file, fcntl.LOCK_UN)
        return False


def test_a_run_stopped_by_sigterm_stops_its_fetch_and_leaves_no_lock(
    repos: Repos, hanging_ssh: Path
) -> None:
    git(repos.local, "remote", "set-url", "origin", "ssh://127.0.0.1/srv/repo.git")
    before = repos.state()
    env = {"PATH": CRON_PATH, "HOME": str(repos.home), "AUTO_SYNC_TIMEOUT": "60"}
    script = str(repos.local / "scripts" / "auto-sync.py")
    with nothing_lost(repos.local):
        run = subprocess.Popen([PYTHON, script, "run"], cwd="/", env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 10
        while len(hanging_ssh.read_text().split() if hanging_ssh.exists() else []) < 2:
            assert time.monotonic() < deadline, "the stand-in ssh never started"
            time.sleep(0.05)
        assert lock_is_held(repos)
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=10) == 2
    assert_all_gone(hanging_ssh)
    assert repos.state() == before
    assert "ERROR stopped by SIGTERM" in repos.log()
    assert not lock_is_held(repos)
    git(repos.local, "remote", "set-url", "origin", str(repos.remote))
    assert repos.sync()[0] == 0


def hold_lock(repos: Repos) -> subprocess.Popen[bytes]:
    """Another run in progress: a process holding the flock on the lock file."""
    lock = repos.local / ".git" / "auto-sync.lock"
    code = (
        "import fcntl, sys, time\n"
        "f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(30)\n"
    )
    holder = subprocess.Popen([PYTHON, "-c", code, str(lock)])
    deadline = time.monotonic() + 10
    while not lock_is_held(repos):
        assert time.monotonic() < deadline, "the lock holder never took the lock"
        time.sleep(0.05)
    return holder


def test_overlapping_run_exits_at_once(repos: Repos) -> None:
    repos.upstream_commit()
    before = repos.state()
    holder = hold_lock(repos)
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


DAEMON_HOOK = """#!/bin/sh
# Like an ssh ControlPersist master or a credential cache started during a run: a background
# process that outlives it, holding whatever descriptors it was given (stdout and stderr too).
sleep 60 &
echo $! >> '{pids}'
"""


def test_a_process_a_run_leaves_behind_does_not_hold_the_lock(repos: Repos, tmp_path: Path) -> None:
    pids = tmp_path / "daemon.pids"
    hook = repos.local / ".git" / "hooks" / "post-merge"
    hook.write_text(DAEMON_HOOK.format(pids=pids))
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    try:
        for number in (1, 2):
            head = repos.upstream_commit(f"upstream-{number}.txt")
            started = time.monotonic()
            status, out = repos.sync()
            assert status == 0, out  # the second run is not BUSY
            assert time.monotonic() - started < 10  # nor waiting for the daemon's output
            assert git(repos.local, "rev-parse", "HEAD") == head
            daemons = [int(pid) for pid in pids.read_text().split()]
            assert len(daemons) == number
            assert all(alive(pid) for pid in daemons)
            assert not lock_is_held(repos)
    finally:
        for pid in pids.read_text().split() if pids.exists() else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    assert "BUSY" not in repos.log()


def test_log_is_rotated_by_size(repos: Repos) -> None:
    for _ in range(9):  # about 60 bytes a line: a rotation every other run from the third
        assert repos.sync(AUTO_SYNC_LOG_BYTES="100")[0] == 0
    logs = repos.local / "logs"
    assert sorted(p.name for p in logs.iterdir()) == [
        "auto-sync.log", "auto-sync.log.1", "auto-sync.log.2", "auto-sync.log.3",
    ]  # fmt: skip
    assert all(p.stat().st_size < 300 for p in logs.iterdir())


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("AUTO_SYNC_STRATEGY", "squash", "must be rebase or merge, not 'squash'"),
        ("AUTO_SYNC_TIMEOUT", "soon", "must be a number of seconds, not 'soon'"),
    ],
)
def test_a_bad_setting_is_one_error_line(
    repos: Repos, name: str, value: str, expected: str
) -> None:
    repos.upstream_commit()
    before = repos.state()
    status, out = repos.sync(**{name: value})
    assert status == 2, out
    assert out.strip().endswith(f"ERROR {name} {expected}")
    assert repos.state() == before


def test_usage(repos: Repos) -> None:
    status, out = repos.sync("sync")
    assert status == 2
    assert out.strip().endswith("auto-sync.py run|install|refresh|remove|status|log")


# --- cron ------------------------------------------------------------------------------------

STAND_IN_CRONTAB = """#!/bin/sh
# crontab stand-in: the table lives in $CRONTAB_FILE; each call's argument is added to
# $CRONTAB_CALLS when it is set.
[ -z "$CRONTAB_CALLS" ] || echo "$1" >> "$CRONTAB_CALLS"
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
    command.parent.mkdir(exist_ok=True)
    command.write_text(STAND_IN_CRONTAB)
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return command, tmp_path / "table"


def cron_runs(line: str, home: Path, **env: str) -> None:
    """Run a crontab line's command as cron does: \\% unescaped, /bin/sh, minimal PATH, from
    the user's home; `env` as `NAME=value` lines of the crontab would add to it."""
    command = line.split(" ", 5)[5].replace("\\%", "%")
    cron_env = {"PATH": CRON_PATH, "HOME": str(home), "SHELL": "/bin/sh", **env}
    subprocess.run(["/bin/sh", "-c", command], cwd=home, env=cron_env, check=True)


def installed_interpreter(line: str) -> str:
    """The interpreter a crontab line of ours runs."""
    return shlex.split(line.split(" ", 5)[5].replace("\\%", "%"))[0]


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
    python = installed_interpreter(ours[0])
    assert ours[0].startswith(f"0 */3 * * * '{python}' '{repos.local}/scripts/auto-sync.py' run")
    # The interpreter that installed it, by an absolute path outside any virtual environment.
    assert Path(python).is_absolute()
    assert Path(python).resolve() == Path(PYTHON).resolve()
    assert not (Path(python).parent.parent / "pyvenv.cfg").exists()

    with nothing_lost(repos.local):
        cron_runs(ours[0], repos.home)
    assert "OK main is up to date" in repos.log()

    status, out = repos.sync("status", **env)
    assert f"cron:     installed: {ours[0]}" in out
    assert "will fail" not in out
    assert "last run: " in out
    assert "OK main is up to date" in out
    assert "upstream: origin/main: 0 ahead, 0 behind (as of the last fetch)" in out

    assert repos.sync("remove", **env)[0] == 0
    assert table.read_text() == theirs
    status, out = repos.sync("remove", **env)
    assert "nothing to remove" in out
    assert table.read_text() == theirs


def test_the_cron_line_outlives_the_projects_venv(repos: Repos, crontab: tuple[Path, Path]) -> None:
    """Installed from .venv's python (as make setup-sync does once set up), the line runs the
    interpreter the environment was made from: recreating or deleting .venv does not break it."""
    command, table = crontab
    venv = repos.local / ".venv"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = {"PATH": CRON_PATH, "HOME": str(repos.home), "CRONTAB": str(command),
           "CRONTAB_FILE": str(table)}  # fmt: skip
    script = str(repos.local / "scripts" / "auto-sync.py")
    with nothing_lost(repos.local):
        subprocess.run([str(venv / "bin" / "python"), script, "install"], env=env, check=True,
                       capture_output=True)  # fmt: skip
    line = table.read_text().strip()
    python = installed_interpreter(line)
    assert not python.startswith(str(repos.local)), line
    assert Path(python).resolve() == (venv / "bin" / "python").resolve()
    shutil.rmtree(venv)  # make clean-all
    repos.upstream_commit()
    with nothing_lost(repos.local):
        cron_runs(line, repos.home)
    assert "UPDATED main fast-forwarded" in repos.log()
    out = repos.sync("status", CRONTAB=str(command), CRONTAB_FILE=str(table))[1]
    assert "will fail" not in out


def test_the_cron_line_quotes_an_awkward_project_path(
    repos: Repos, crontab: tuple[Path, Path], tmp_path: Path
) -> None:
    command, table = crontab
    # Run unquoted, the command substitutions would create `canary` in the home directory.
    awkward = tmp_path / 'it\'s a "$(touch canary)" `touch canary` 100% dir'
    git(tmp_path, "clone", "-q", str(repos.remote), str(awkward))
    repos.local = awkward
    status, out = repos.sync("install", CRONTAB=str(command), CRONTAB_FILE=str(table))
    assert status == 0, out
    line = table.read_text().strip()
    assert line.endswith(f"# auto-sync: {awkward}")
    repos.upstream_commit()
    with nothing_lost(awkward):
        cron_runs(line, repos.home)
    assert "UPDATED main fast-forwarded" in repos.log()
    assert not (repos.home / "canary").exists()


def test_status_says_when_the_cron_line_would_fail(
    repos: Repos, crontab: tuple[Path, Path]
) -> None:
    command, table = crontab
    marker = f"# auto-sync: {repos.local}"
    env = {"CRONTAB": str(command), "CRONTAB_FILE": str(table)}
    # A line from a release whose script was auto-sync.sh: the shim heals it on its next run.
    table.write_text(f"0 */3 * * * /bin/bash '{repos.local}/scripts/auto-sync.sh' run {marker}\n")
    assert "will fail" not in repos.sync("status", **env)[1]
    # A line that runs something else under our marker.
    table.write_text(f"0 */3 * * * /usr/bin/python3 '/elsewhere/auto-sync.py' run {marker}\n")
    out = repos.sync("status", **env)[1]
    assert "cron:     will fail: it does not run scripts/auto-sync.py" in out
    assert "make setup-sync" in out
    # An interpreter that is gone.
    gone = f"0 */3 * * * '/nonexistent/python3' '{repos.local}/scripts/auto-sync.py' run {marker}"
    table.write_text(gone + "\n")
    out = repos.sync("status", **env)[1]
    assert "cron:     will fail: its interpreter /nonexistent/python3 is gone" in out
    # setup-sync replaces the stale line.
    assert repos.sync("install", **env)[0] == 0
    assert "will fail" not in repos.sync("status", **env)[1]
    assert len(table.read_text().splitlines()) == 1


def test_remove_sync_spares_a_project_whose_path_extends_ours(
    repos: Repos, crontab: tuple[Path, Path]
) -> None:
    command, table = crontab
    other = f"{repos.local}-v2"
    similar = f"0 * * * * '{PYTHON}' '{other}/scripts/auto-sync.py' run # auto-sync: {other}\n"
    table.write_text(similar)
    env = {"CRONTAB": str(command), "CRONTAB_FILE": str(table)}
    repos.sync("install", **env)
    repos.sync("remove", **env)
    assert table.read_text() == similar


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A crontab command that cannot read the table."""
    command = tmp_path / "crontab"
    command.write_text('#!/bin/sh\necho "crontab: permission denied" >&2\nexit 1\n')
    command.chmod(0o755)
    return command


def test_unreadable_crontab_is_never_replaced(repos: Repos, broken: Path) -> None:
    status, out = repos.sync("install", CRONTAB=str(broken))
    assert status == 2
    assert "crontab -l failed, crontab left alone: crontab: permission denied" in out


def test_missing_cron_is_one_clear_line(repos: Repos) -> None:
    status, out = repos.sync("install", CRONTAB="no-such-crontab")
    assert status == 2
    assert out.strip() == (
        "auto-sync: no-such-crontab not found: install cron (apt install cron; macOS has it)"
    )


# `refresh` is what every `copier update` runs (copier.yml's _migrations): a line of this project
# is rewritten as `install` would write it now; without one, nothing happens.


def bash_line(repos: Repos, schedule: str = "0 */3 * * *") -> str:
    """This project's crontab line as releases before the Python script installed it."""
    return (f"{schedule} /bin/bash '{repos.local}/scripts/auto-sync.sh' run >/dev/null 2>&1 "
            f"# auto-sync: {repos.local}")  # fmt: skip


def installed_line(repos: Repos, crontab: tuple[Path, Path]) -> str:
    """The line `install` writes (into a table of its own, removed after)."""
    command, table = crontab
    scratch = table.with_name("scratch-table")
    status, out = repos.sync("install", CRONTAB=str(command), CRONTAB_FILE=str(scratch))
    assert status == 0, out
    (line,) = scratch.read_text().splitlines()
    scratch.unlink()
    return line


def test_refresh_rewrites_an_older_line_in_place_and_keeps_the_others(
    repos: Repos, crontab: tuple[Path, Path]
) -> None:
    command, table = crontab
    before = ["MAILTO=ops@example.com", "30 2 * * * /usr/bin/backup --all # someone else's job"]
    after = [f"0 * * * * '{PYTHON}' '{repos.local}-v2/scripts/auto-sync.py' run "
             f"# auto-sync: {repos.local}-v2", "", "# the end"]  # fmt: skip
    table.write_text("\n".join([*before, bash_line(repos), *after]) + "\n")
    env = {"CRONTAB": str(command), "CRONTAB_FILE": str(table)}
    status, out = repos.sync("refresh", **env)
    assert status == 0, out
    line = installed_line(repos, crontab)
    assert table.read_text() == "\n".join([*before, line, *after]) + "\n"
    assert out.strip() == f"auto-sync: crontab line refreshed: {line}"
    with nothing_lost(repos.local):
        cron_runs(line, repos.home)
    assert "OK main is up to date" in repos.log()
    assert "will fail" not in repos.sync("status", **env)[1]


def test_refresh_replaces_every_line_of_the_project_by_one(
    repos: Repos, crontab: tuple[Path, Path]
) -> None:
    """An old schedule and a stale interpreter, both this project's: one current line stays,
    where the first was."""
    command, table = crontab
    stale = f"0 0 * * * '/nonexistent/python3' '{repos.local}/scripts/auto-sync.py' run "
    table.write_text(f"{bash_line(repos, '0 */8 * * *')}\n# between\n{stale}# auto-sync: "
                     f"{repos.local}\n")  # fmt: skip
    status, out = repos.sync("refresh", CRONTAB=str(command), CRONTAB_FILE=str(table))
    assert status == 0, out
    assert table.read_text() == f"{installed_line(repos, crontab)}\n# between\n"


@pytest.mark.parametrize("table_text", [None, "", "30 2 * * * /usr/bin/backup --all\n", "current"])
def test_refresh_without_an_outdated_line_writes_nothing_and_says_nothing(
    repos: Repos, crontab: tuple[Path, Path], tmp_path: Path, table_text: str | None
) -> None:
    """No crontab yet, an empty one, only others' lines, or this project's line as it is now:
    the table is read once, never written."""
    command, table = crontab
    if table_text is not None:
        current = installed_line(repos, crontab) + "\n"
        table.write_text(current if table_text == "current" else table_text)
    calls = tmp_path / "calls"
    status, out = repos.sync("refresh", CRONTAB=str(command), CRONTAB_FILE=str(table),
                             CRONTAB_CALLS=str(calls))  # fmt: skip
    assert (status, out) == (0, "")
    assert calls.read_text() == "-l\n"
    if table_text is None:
        assert not table.exists()
    else:
        assert table.read_text() == (current if table_text == "current" else table_text)


def test_refresh_without_cron_does_nothing(repos: Repos) -> None:
    """CI runners and containers have no crontab command: not an error, nothing said."""
    assert repos.sync("refresh", CRONTAB="no-such-crontab") == (0, "")
    assert repos.sync("refresh", path="/nonexistent") == (0, "")  # crontab not on PATH


def test_refresh_never_replaces_an_unreadable_crontab(repos: Repos, broken: Path) -> None:
    status, out = repos.sync("refresh", CRONTAB=str(broken))
    assert status == 2
    assert out.strip() == (
        f"auto-sync: {broken} -l failed, crontab left alone: crontab: permission denied"
    )


def test_refresh_from_an_ephemeral_environment_records_a_lasting_interpreter(
    repos: Repos, crontab: tuple[Path, Path], tmp_path: Path
) -> None:
    """copier may run in a throwaway environment (uv tool run, in uv's cache): the line names
    the interpreter that environment was made from, and runs once the environment is gone."""
    command, table = crontab
    table.write_text(bash_line(repos) + "\n")
    ephemeral = tmp_path / "cache" / "archive-v0" / "abc123"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(ephemeral)], check=True)
    env = {"PATH": CRON_PATH, "HOME": str(repos.home), "CRONTAB": str(command),
           "CRONTAB_FILE": str(table)}  # fmt: skip
    with nothing_lost(repos.local):
        subprocess.run([str(ephemeral / "bin" / "python"), "scripts/auto-sync.py", "refresh"],
                       cwd=repos.local, env=env, check=True, capture_output=True)  # fmt: skip
    line = table.read_text().strip()
    python = installed_interpreter(line)
    assert not python.startswith(str(tmp_path / "cache")), line
    assert Path(python).resolve() == (ephemeral / "bin" / "python").resolve()
    shutil.rmtree(ephemeral)
    repos.upstream_commit()
    with nothing_lost(repos.local):
        cron_runs(line, repos.home)
    assert "UPDATED main fast-forwarded" in repos.log()


# scripts/auto-sync.sh is a shim for the crontab lines of releases up to 1.0.0 (bash_line): in a
# clone that got the update as commits, no migration ran, and cron still runs that line.

OLD_PYTHON = """#!/bin/sh
# A Python 3.9 stand-in: the real interpreter, saying it is 3.9 (`python3 -c CODE` only).
[ "$1" = -c ] || { echo "python3 stand-in: run with $*" >&2; exit 9; }
exec '{python}' -c 'import sys; sys.version_info = (3, 9, 6, "final", 0); exec(sys.argv[1])' "$2"
"""
HUNG_PYTHON = """#!/bin/sh
# A python3 that never answers, with a child of its own.
sleep 300 &
echo $! > '{pid_file}'
wait
"""
SHIM_BOUND = 10  # seconds the shim gives each interpreter to answer


def shim(repos: Repos, path: str, **env: str) -> tuple[int, str, float]:
    """Run the local clone's scripts/auto-sync.sh as cron runs an old line (from /, with only
    `path` and `env`); its status, output and how long it took."""
    full_env = {"PATH": path, "HOME": str(repos.home), "SHELL": "/bin/sh", **env}
    start = time.monotonic()
    with nothing_lost(repos.local):
        result = subprocess.run(
            ["/bin/bash", str(repos.local / "scripts" / "auto-sync.sh"), "run"],
            cwd="/", env=full_env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    return result.returncode, result.stdout + result.stderr, time.monotonic() - start


def gone(pid: int) -> bool:
    """Whether process `pid` has ended (a zombie that nobody reaped has ended too)."""
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True,
                           text=True, check=False).stdout.strip()  # fmt: skip
    return not state or state.startswith("Z")


def test_a_cron_line_of_the_bash_release_heals_on_its_next_run(
    repos: Repos, crontab: tuple[Path, Path], tmp_path: Path
) -> None:
    """Its next run (through the shim) rewrites the line as `install` would, in place, other
    lines untouched, and syncs; later runs are the new line's, and write no crontab."""
    command, table = crontab
    venv = repos.local / ".venv"  # the shim tries the project's interpreter first
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    before = ["MAILTO=ops@example.com", "30 2 * * * /usr/bin/backup --all # someone else's job"]
    after = ["", "# the end"]
    old = bash_line(repos)
    table.write_text("\n".join([*before, old, *after]) + "\n")
    calls = tmp_path / "calls"
    # What cron gives the line, plus the stand-in crontab (`NAME=value` lines of a real table).
    env = {"CRONTAB": str(command), "CRONTAB_FILE": str(table), "CRONTAB_CALLS": str(calls)}
    repos.upstream_commit()
    with nothing_lost(repos.local):
        cron_runs(old, repos.home, **env)
    assert "UPDATED main fast-forwarded" in repos.log()
    lines = table.read_text().split("\n")
    line = lines[len(before)]
    assert lines == [*before, line, *after, ""]
    python = installed_interpreter(line)
    script = repos.local / "scripts" / "auto-sync.py"
    marker = f"# auto-sync: {repos.local}"
    assert line == f"0 */3 * * * '{python}' '{script}' run >/dev/null 2>&1 {marker}"
    # .venv's interpreter, as the one it was made from: the line outlives .venv.
    assert Path(python).resolve() == (venv / "bin" / "python").resolve()
    assert not (Path(python).parent.parent / "pyvenv.cfg").exists()
    assert calls.read_text() == "-l\n-\n"  # read once, written once

    repos.upstream_commit("second.txt")
    with nothing_lost(repos.local):
        cron_runs(line, repos.home, **env)
    assert repos.log().count("UPDATED main fast-forwarded") == 2
    assert calls.read_text() == "-l\n-\n"  # no shim, no refresh
    assert "will fail" not in repos.sync("status", **env)[1]


@pytest.mark.parametrize("python3", ["3.9", "hung"])
def test_the_shim_without_a_python_3_10_is_one_error_line(
    repos: Repos, crontab: tuple[Path, Path], tmp_path: Path, python3: str
) -> None:
    """No .venv, and on PATH only a python3 that is too old, or never answers (bounded, and
    stopped with its child): one ERROR line, in the log too, exit 2, the crontab untouched."""
    command, table = crontab
    fake, pid_file = tmp_path / "fake" / "python3", tmp_path / "fake.pid"
    fake.parent.mkdir()
    text = OLD_PYTHON if python3 == "3.9" else HUNG_PYTHON
    fake.write_text(text.replace("{python}", PYTHON).replace("{pid_file}", str(pid_file)))
    fake.chmod(0o755)
    table.write_text(bash_line(repos) + "\n")
    # No directory beyond PATH: the usual ones (/usr/bin, ...) may hold a Python 3.10+ here.
    status, out, took = shim(repos, str(fake.parent), AUTO_SYNC_PYTHON_DIRS="",
                             CRONTAB=str(command), CRONTAB_FILE=str(table))  # fmt: skip
    assert status == 2, out
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ERROR no Python 3\.10\+ to run scripts/auto-sync\.py: "
        r"install one \(macOS: brew install python; Debian, Ubuntu: apt install python3\), or "
        r"make setup\n",
        out,
    ), out
    assert repos.log() == out
    assert table.read_text() == bash_line(repos) + "\n"
    if python3 == "3.9":
        assert took < SHIM_BOUND, took
    else:
        assert SHIM_BOUND <= took < SHIM_BOUND + 5, took
        assert gone(int(pid_file.read_text())), "the hung python3's child outlived the shim"


def test_the_shim_skips_what_does_not_answer_and_passes_its_arguments_on(
    repos: Repos, crontab: tuple[Path, Path], tmp_path: Path
) -> None:
    """python3 on PATH too old, AUTO_SYNC_PYTHON_DIRS with no python3 and then a good one: that
    one refreshes the line and runs the command given."""
    command, table = crontab
    old, good = tmp_path / "old" / "python3", tmp_path / "good" / "python3"
    for path in (old, good):
        path.parent.mkdir()
    old.write_text(OLD_PYTHON.replace("{python}", PYTHON))
    old.chmod(0o755)
    good.symlink_to(Path(PYTHON).resolve())
    table.write_text(bash_line(repos) + "\n")
    env = {"CRONTAB": str(command), "CRONTAB_FILE": str(table)}
    with nothing_lost(repos.local):
        result = subprocess.run(
            ["/bin/bash", "scripts/auto-sync.sh", "status"], cwd=repos.local, capture_output=True,
            env={"PATH": str(old.parent), "HOME": str(repos.home),
                 "AUTO_SYNC_PYTHON_DIRS": f"relative/dir::{tmp_path / 'none'}:{good.parent}",
                 **env},
            text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = table.read_text().splitlines()
    assert installed_interpreter(line) == str(good)
    assert result.stdout.splitlines()[:2] == [
        f"auto-sync: crontab line refreshed: {line}",
        f"cron:     installed: {line}",
    ]


def test_make_targets(repos: Repos, crontab: tuple[Path, Path]) -> None:
    """The Makefile's sync targets run the script (no .venv needed)."""
    command, table = crontab
    sync_env = {"CRONTAB": str(command), "CRONTAB_FILE": str(table)}
    repos.upstream_commit()

    def make(target: str, *args: str) -> str:
        with nothing_lost(repos.local):
            return Project(repos.local).make(target, *args, env=sync_env).stdout

    assert "UPDATED main fast-forwarded" in make("auto-sync")
    assert "auto-sync: installed:" in make("setup-sync")
    assert "cron:     installed:" in make("check-sync")
    assert "UPDATED main fast-forwarded" in make("sync-log")
    assert make("sync-log", "SYNC_LOG_LINES=1").count("\n") == 1
    assert "removed the crontab line" in make("remove-sync")
    assert table.read_text() == ""
