"""Tag a release of the template: `make release VERSION=X.Y.Z` runs this.

It refuses, with one line on stderr and exit status 1, a VERSION that is not X.Y.Z, a dirty
working tree, a CHANGELOG.md without the heading `## [X.Y.Z] - YYYY-MM-DD`, an existing tag
vX.Y.Z and a version not newer than every release already made (a heading in CHANGELOG.md's
history, or a vX.Y.Z tag). Then it runs the tests (the shell command in RELEASE_TESTS, which the
Makefile sets to `make test-fast`) and creates the annotated tag vX.Y.Z at HEAD, its message the
version's changelog section. It never pushes: it prints the command that does.

`--notes X.Y.Z` prints that version's section alone (the release workflow's release notes).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess  # nosec B404 # git and the tests command, argument lists, no shell=True
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = "CHANGELOG.md"
EXAMPLE = "make release VERSION=1.2.3"
DEFAULT_TESTS = "make test-fast"
# Semantic version core: three numbers, no leading zeros.
SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
# A release heading of CHANGELOG.md (tests/releases.py reads them the same way).
HEADING = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2})$", re.M)
TAG = re.compile(r"v(?P<version>\d+\.\d+\.\d+)")
# Where a section ends: the next `## ` heading, or the link references at the bottom.
SECTION_END = re.compile(r"^(## |\[[^\]]+\]: )")

Version = tuple[int, int, int]


class Refused(Exception):
    """A reason not to release: what is wrong, and what to do about it."""

    def __init__(self, problem: str, remedy: str) -> None:
        """Keep the two halves of the one-line message."""
        super().__init__(f"release: {problem}: {remedy}")


def parse(version: str) -> Version:
    """Split an X.Y.Z version into numbers, to compare versions numerically."""
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def program(name: str) -> str:
    """Return the path of a program on PATH; refuse without it."""
    path = shutil.which(name)
    if path is None:
        raise Refused(f"{name} is not on PATH", f"install {name}, then retry")
    return path


def git(*args: str) -> str:
    """Run git in the repository and return its stdout; refuse with git's own complaint."""
    result = subprocess.run(  # nosec B603 # argument list, no shell
        [program("git"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        raise Refused(f"git {args[0]} failed ({reason})", "fix the repository, then retry")
    return result.stdout


def check_version(version: str) -> None:
    """Refuse a VERSION that is not a semantic version X.Y.Z."""
    if not version:
        raise Refused("VERSION is missing", f"name the version to tag, e.g. {EXAMPLE}")
    if not SEMVER.fullmatch(version):
        raise Refused(
            f'VERSION "{version}" is not X.Y.Z (three numbers, no "v", no leading zeros)',
            f"e.g. {EXAMPLE}",
        )


def check_clean() -> None:
    """Refuse uncommitted or untracked files: the tag names exactly what is committed."""
    if git("status", "--porcelain").strip():
        raise Refused(
            "the working tree has uncommitted changes (git status)",
            "commit or stash them, then retry",
        )


def changelog_section(version: str) -> str:
    """Return the notes under the version's heading in CHANGELOG.md; refuse without one."""
    path = ROOT / CHANGELOG
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    heading = next((m for m in HEADING.finditer(text) if m["version"] == version), None)
    today = date.today().isoformat()
    if heading is None:
        raise Refused(
            f'{CHANGELOG} has no heading "## [{version}] - YYYY-MM-DD"',
            f'move the Unreleased notes under "## [{version}] - {today}" and commit',
        )
    try:
        date.fromisoformat(heading["date"])
    except ValueError:
        raise Refused(
            f'{CHANGELOG} dates {version} "{heading["date"]}", which is not a date',
            f"write the release date as YYYY-MM-DD (today is {today}) and commit",
        ) from None
    body: list[str] = []
    for line in text[heading.end() :].splitlines():
        if SECTION_END.match(line):
            break
        body.append(line)
    return "\n".join(body).strip()


def released() -> dict[str, str]:
    """Map every version already released to where it shows: CHANGELOG.md's history or a tag."""
    found: dict[str, str] = {}
    # Every heading CHANGELOG.md ever had: its current one, and each one a commit added.
    history = git("log", "-p", "--format=", "--no-color", "--no-ext-diff", "--", CHANGELOG)
    for line in history.splitlines():
        if line.startswith("+") and (match := HEADING.match(line[1:])):
            found.setdefault(match["version"], f"in {CHANGELOG}'s history")
    for tag in git("tag", "--list", "v*").split():
        if match := TAG.fullmatch(tag):
            found[match["version"]] = f"tag {tag}"
    return found


def check_tag_free(version: str) -> None:
    """Refuse a tag vX.Y.Z that exists already."""
    tag = f"v{version}"
    if git("tag", "--list", tag).strip():
        raise Refused(
            f"tag {tag} already exists (at {git('rev-list', '-n', '1', tag).strip()[:12]})",
            "release the next version instead (delete the tag first only if it was never pushed)",
        )


def check_newer(version: str) -> None:
    """Refuse a version not newer than every other release, compared numerically."""
    others = {v: where for v, where in released().items() if v != version}
    if not others:
        return
    latest = max(others, key=parse)
    if parse(version) <= parse(latest):
        raise Refused(
            f"{version} is not newer than {latest}, already released ({others[latest]})",
            f"choose a version above {latest}",
        )


def check_heading_is_head(version: str) -> None:
    """Refuse unless HEAD added the version's heading: a release is that commit."""
    pattern = "^## \\[" + re.escape(version) + "\\] - "
    added = git("log", "--reverse", "--format=%H", "-G", pattern, "--", CHANGELOG).split()
    head = git("rev-parse", "HEAD").strip()
    if added and added[0] != head:
        raise Refused(
            f"the {version} heading was added by {added[0][:12]}, not by HEAD",
            "a release is the commit that adds its heading: tag that commit, or move the heading",
        )


def run_tests(version: str) -> None:
    """Run the release tests (RELEASE_TESTS, a shell command); Refused when they fail."""
    command = os.environ.get("RELEASE_TESTS") or DEFAULT_TESTS
    print(f"release: running the tests: {command}", flush=True)
    status = subprocess.run(  # nosec B603 # the maintainer's own command, run as make would
        [program("bash"), "-c", command],  # the Makefile's shell
        cwd=ROOT,
        check=False,
    ).returncode
    if status != 0:
        raise Refused(
            f"the tests failed ({command} exited {status})",
            f"fix them, commit, then run make release VERSION={version} again",
        )


def tag(version: str, notes: str) -> None:
    """Create the annotated tag vX.Y.Z at HEAD, its message the version's notes."""
    message = f"Release {version}\n\n{notes}\n" if notes else f"Release {version}\n"
    # whitespace, not strip: the notes' `### Added` lines are not comments to drop.
    git("tag", "-a", f"v{version}", "--cleanup=whitespace", "-m", message, "HEAD")


def print_notes(version: str) -> int:
    """Print the version's CHANGELOG.md section (`--notes VERSION`); the exit status.

    The release workflow's release notes: what the tag's message holds.
    """
    try:
        check_version(version)
        print(changelog_section(version))
    except Refused as refused:
        print(refused, file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    """Check everything, run the tests, tag; the exit status."""
    if argv[:1] == ["--notes"]:
        return print_notes(argv[1].strip() if len(argv) > 1 else "")
    version = argv[0].strip() if argv else ""
    try:
        check_version(version)
        check_clean()
        notes = changelog_section(version)
        check_tag_free(version)
        check_newer(version)
        check_heading_is_head(version)
        run_tests(version)
        tag(version, notes)
    except Refused as refused:
        print(refused, file=sys.stderr)
        return 1
    commit = git("rev-parse", "--short=12", "HEAD").strip()
    print(f"release: tagged v{version} at {commit}. Publish it with:")
    print(f"  git push origin v{version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
