"""The template's releases: CHANGELOG.md headings, their commits, and clones tagged with them.

A release is the commit that added its heading `## [X.Y.Z] - YYYY-MM-DD` to CHANGELOG.md, so
releases are found in the history without tags (a clone without tags, CI's checkout). Tests
that need the template at its releases work in `clone_template`: ROOT's history, the working
tree on top as one commit, every release tagged vX.Y.Z, and two older commits as pre-1.0 tags.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from helpers import ROOT, commit_all, git, unavailable

CHANGELOG = "CHANGELOG.md"
# A release heading of CHANGELOG.md (.ci/release.py reads them the same way).
RELEASE_HEADING = re.compile(
    r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2})$", re.M
)

# Older commits of this repository, tagged as pre-1.0 releases in temporary clones (update tests
# start a project from them). Full SHAs: a commit named by a short one could become ambiguous.
OLDER_COMMITS: dict[str, str] = {
    # 553181e "Auto-sync: ...": auto-sync and template-sync, before the FastAPI service and
    # while the LICENSE year still came from jinja2-time.
    "v0.1.0": "553181ea1fe6b4f3bb0e3c0ebbe46ef031764f35",
    # f655359 "create_migration: ...": the service (FastAPI, SQLAlchemy/Alembic, Redis, Celery)
    # before its FastAPI layout restructure (58a35a4).
    "v0.2.0": "f6553590b110e79232418ee1f7c1f5db59afe348",
}

# What a clone never takes from the working tree: git's own data and local environments.
NOT_COPIED = {".git", ".venv", ".tools", ".cache"}
COMMIT_LINE = re.compile(r"^[0-9a-f]{40}$")


def version_key(version: str) -> tuple[int, ...]:
    """An X.Y.Z version as numbers, to order versions numerically."""
    return tuple(int(part) for part in version.split("."))


def changelog_versions(text: str) -> list[str]:
    """The versions of the release headings in `text`, in file order (newest first)."""
    return [match["version"] for match in RELEASE_HEADING.finditer(text)]


def release_commits(repo: Path = ROOT) -> dict[str, str]:
    """Each release of `repo` ("vX.Y.Z") and the full SHA of the commit that added its heading.

    The oldest commit whose CHANGELOG.md diff adds the heading line wins: later edits of the
    section, or of the heading's date, do not move a release. Oldest release first. A heading
    that is only in the working tree has no commit, so it is not a release yet.
    """
    # -G keeps the commits whose diff adds or removes a heading line; -p shows those lines.
    log = git(
        repo,
        "log",
        "-p",
        "--reverse",
        "--topo-order",
        "--format=%H",
        "--no-color",
        "--no-ext-diff",
        "-G",
        r"^## \[[0-9]",
        "--",
        CHANGELOG,
    )
    found: dict[str, str] = {}
    commit = ""
    added: list[str] = []

    def record() -> None:
        for version in sorted(added, key=version_key):
            found.setdefault(f"v{version}", commit)
        added.clear()

    for line in log.splitlines():
        if COMMIT_LINE.match(line):
            record()
            commit = line
        elif line.startswith("+") and (match := RELEASE_HEADING.match(line[1:])):
            added.append(match["version"])
    record()
    return found


def working_tree_files(repo: Path) -> set[str]:
    """The files of `repo`'s working tree: tracked and not deleted, and untracked not ignored."""
    listed = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return {
        name
        for name in listed.split("\0")
        if name
        and not NOT_COPIED & set(Path(name).parts)
        and ((repo / name).is_file() or (repo / name).is_symlink())
    }


def copy_working_tree(source: Path, dest: Path) -> None:
    """Make `dest`'s files those of `source`'s working tree (deletions included)."""
    files = working_tree_files(source)
    tracked = {name for name in git(dest, "ls-files", "-z").split("\0") if name}
    for name in tracked - files:
        if not NOT_COPIED & set(Path(name).parts):
            (dest / name).unlink(missing_ok=True)
    for name in sorted(files):
        target = dest / name
        if target.is_symlink() or target.exists():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target, follow_symlinks=False)


def clone_template(dest: Path, older: Mapping[str, str] = OLDER_COMMITS) -> Path:
    """ROOT as a template repository in `dest`, tagged with its releases; returns `dest`.

    ROOT's history (cloned without its tags), then ROOT's working tree as one commit "Working
    tree" when it differs from HEAD (untagged: render it with vcs_ref HEAD). Every release found
    in the committed CHANGELOG.md history is tagged vX.Y.Z at its commit, and every `older`
    entry (tag: commit-ish) too.
    """
    if git(ROOT, "rev-parse", "--is-shallow-repository") == "true":
        unavailable(
            f"{ROOT} is a shallow clone: the release tests need its history "
            "(git fetch --unshallow, or check out with fetch-depth: 0)"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(dest.parent, "clone", "-q", "--no-local", "--no-tags", str(ROOT), str(dest))
    # The releases are those of the committed history: a heading only in the working tree
    # would otherwise make the working-tree commit a release.
    releases = release_commits(dest)
    copy_working_tree(ROOT, dest)
    if git(dest, "status", "--porcelain"):
        commit_all(dest, "Working tree")
    if both := sorted(releases.keys() & older.keys()):
        pytest.fail(f"{', '.join(both)}: releases in {CHANGELOG} and entries of `older` at once")
    for name, commit_ish in {**releases, **older}.items():
        sha = git(dest, "rev-parse", "-q", "--verify", f"{commit_ish}^{{commit}}", check=False)
        if not sha:
            pytest.fail(
                f"{name}: commit {commit_ish} is not in {ROOT}'s history "
                "(was the history rewritten? update OLDER_COMMITS in tests/releases.py)"
            )
        git(dest, "tag", name, sha)
    return dest
