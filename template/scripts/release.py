#!/usr/bin/env python3
"""Check and tag a release: the version in pyproject.toml, with its section in CHANGELOG.md.

Usage: scripts/release.py tag
         what `make release` runs: on a clean working tree with a branch checked out, when
         CHANGELOG.md has a dated section with notes for the version in pyproject.toml, the
         tag vX.Y.Z does not exist yet and the branch is pushed (it has an upstream branch and
         no commit ahead of it), create the annotated tag vX.Y.Z at HEAD and print the command
         that pushes it. Nothing else changes: no bump, no commit, no push.
       scripts/release.py check TAG [--on-branch REF]
         what the release workflow runs first: TAG is "v" + the version in pyproject.toml, and
         CHANGELOG.md has a dated section with notes for that version; with --on-branch, HEAD
         (the tagged commit) is also on REF (origin/main).
       scripts/release.py notes VERSION
         print VERSION's CHANGELOG.md section (the notes of the GitHub release).
       scripts/release.py version [--github-output]
         print the version in pyproject.toml (make docker-build's, CI's); with --github-output,
         the lines version=X.Y.Z and prerelease=true|false, for $GITHUB_OUTPUT.
Exit: 0 done; 1 refused, with one line on stderr saying what is wrong and what to do (nothing
changed); 2 a usage error.

Standard library only, on any Python 3.10+: the workflow runs it on the runner's python3,
before anything is installed.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shutil
import subprocess  # nosec B404 # runs git with argument lists, no shell
import sys
from datetime import date
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = "pyproject.toml"
CHANGELOG = "CHANGELOG.md"
# The workflow a pushed tag runs, in projects with GitHub Actions.
WORKFLOW = ".github/workflows/release.yml"
BUMP = "make bump-patch/minor/major"
# A version's heading in Keep a Changelog 1.1.0: `## [1.2.0] - 2026-01-31`, the version
# possibly a link, `## [1.2.0](https://...) - 2026-01-31`; trailing spaces are invisible.
HEADING = re.compile(r"^## \[(?P<version>[^\]]*)\](?P<rest>.*)$", re.MULTILINE)
DATED = re.compile(r"(?:\([^()\s]*\))? - (?P<date>\d{4}-\d{2}-\d{2})\s*")
UNRELEASED = "Unreleased"
# Where a section ends: the next `## ` heading, or the link references at the bottom.
SECTION_END = re.compile(r"^(## |\[[^\]]+\]: )")
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# The lines of pyproject.toml that Python 3.10 (no tomllib) reads: a table header, a
# `version = "..."` key, and a line that opens or closes a multi-line string.
TABLE = re.compile(r"\s*\[\s*(?P<name>[A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?")
ARRAY_TABLE = re.compile(r"\s*\[\[")
VERSION_KEY = re.compile(
    r"""\s*version\s*=\s*(?:"(?P<basic>[^"\\]*)"|'(?P<literal>[^']*)')\s*(#.*)?"""
)
MULTILINE_STRING = re.compile(r'"""|\'\'\'')
# PEP 440's version scheme (the regular expression of its appendix B, the groups this script
# needs named): a pre-release has a pre segment (a, b, rc and their spellings) or a dev one.
PEP_440 = re.compile(
    r"""
    v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?P<pre>[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?
    (?P<post>-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?
    (?P<dev>[-_.]?dev[-_.]?[0-9]*)?
    (?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?
    """,
    re.VERBOSE | re.IGNORECASE,
)


class RefusedError(Exception):
    """A reason not to release: what is wrong, and what to do about it."""

    def __init__(self, problem: str, remedy: str) -> None:
        """Keep the two halves of the one-line message."""
        super().__init__(f"release: {problem}: {remedy}")


def refuse(problem: str, remedy: str) -> NoReturn:
    """Stop with one line: what is wrong, then what to do about it."""
    raise RefusedError(problem, remedy)


def scan_version(text: str) -> str | None:
    """Return `[project] version` of a pyproject.toml read line by line, or None without one.

    Python 3.10 has no tomllib. The version is one `version = "X.Y.Z"` line of the `[project]`
    table (as uv writes it); lines inside multi-line strings are skipped, so a `version = ...`
    in a description or another table never counts.
    """
    table: str | None = None
    in_string: str | None = None
    for line in text.splitlines():
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        if ARRAY_TABLE.match(line):
            table = None
        elif header := TABLE.fullmatch(line):
            table = header["name"].replace(" ", "").strip("\"'")
        elif table == "project" and (key := VERSION_KEY.fullmatch(line)):
            return key["basic"] if key["basic"] is not None else key["literal"]
        quotes = MULTILINE_STRING.findall(line)
        if len(quotes) % 2 == 1:
            in_string = quotes[-1]
    return None


def read_version(text: str) -> str | None:
    """Return `[project] version` of a pyproject.toml, or None without one.

    tomllib (Python 3.11+) reads the whole file; Python 3.10 scans it (`scan_version`). Not
    `uv version`: the release workflow checks the tag before anything is installed.
    """
    try:
        toml = importlib.import_module("tomllib")
    except ModuleNotFoundError:
        return scan_version(text)
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as error:
        refuse(f"{PYPROJECT} is not valid TOML ({error})", "fix it, then retry")
    project = data.get("project")
    version = project.get("version") if isinstance(project, dict) else None
    return version if isinstance(version, str) else None


def project_version() -> str:
    """Return the version in pyproject.toml (its single source); refuse without one."""
    path = ROOT / PYPROJECT
    if not path.is_file():
        refuse(f"{PYPROJECT} is missing", "keep this script in scripts/, next to it")
    version = read_version(path.read_text(encoding="utf-8"))
    if not version:
        refuse(
            f'{PYPROJECT} has no [project] version = "X.Y.Z"',
            'write the version there (e.g. version = "0.1.0"), then retry',
        )
    return version


def prerelease(version: str) -> bool:
    """Whether a PEP 440 version is a pre-release (1.1.0rc1, 2.0.0b2, 1.0.0.dev3).

    A version that is not PEP 440 is refused here, before PyPI or uv refuse it later.
    """
    match = PEP_440.fullmatch(version.strip())
    if match is None:
        refuse(
            f'{PYPROJECT}\'s version "{version}" is not a PEP 440 version',
            "write one like 1.2.0 or 1.2.0rc1 (https://peps.python.org/pep-0440/), then retry",
        )
    return bool(match["pre"] or match["dev"])


def not_a_version(name: str) -> NoReturn:
    """Refuse the Unreleased section as a release: its notes wait for a version of their own."""
    heading = f"## [X.Y.Z] - {date.today().isoformat()}"
    refuse(
        f'"{name}" is not a version: its {CHANGELOG} section lists what is not released yet',
        f'bump with {BUMP}, move those notes under a new heading "{heading}" for the new '
        "version, commit, and release that version",
    )


def section(version: str) -> str:
    """Return the notes of the version's section in CHANGELOG.md; refuse without them.

    The section is the text under `## [VERSION] - YYYY-MM-DD` (or `## [VERSION](link) - ...`)
    down to the next `## ` heading (or the link references at the bottom); it must say
    something besides `###` headings and comments.
    """
    if version.casefold() == UNRELEASED.casefold():
        not_a_version(version)
    path = ROOT / CHANGELOG
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    today = date.today().isoformat()
    heading = f"## [{version}] - {today}"
    found = [match for match in HEADING.finditer(text) if match["version"] == version]
    if not found:
        refuse(
            f"{CHANGELOG} has no section for {version}",
            f'move the notes under "## [Unreleased]" to a new heading "{heading}" and commit',
        )
    if len(found) > 1:
        refuse(
            f"{CHANGELOG} has {len(found)} sections for {version}",
            "merge them into one and commit",
        )
    match = found[0]
    dated = DATED.fullmatch(match["rest"])
    try:
        date.fromisoformat(dated["date"] if dated else "")
    except ValueError:
        refuse(
            f'{CHANGELOG} heads {version} with "{match[0]}", not "## [{version}] - YYYY-MM-DD"',
            f'write "{heading}" (the release date) and commit',
        )
    body: list[str] = []
    for line in text[match.end() :].splitlines()[1:]:
        if SECTION_END.match(line):
            break
        body.append(line)
    notes = "\n".join(body).strip()
    said = [line for line in COMMENT.sub("", notes).splitlines() if line.strip()]
    if all(line.lstrip().startswith("#") for line in said):
        refuse(
            f"{CHANGELOG}'s section for {version} has no notes",
            "write what changed under it (### Added, ### Changed, ### Fixed...) and commit",
        )
    return notes


def git(*args: str) -> str:
    """Run git in the project and return its stdout; refuse with git's own complaint."""
    program = shutil.which("git")
    if program is None:
        refuse("git is not on PATH", "install git, then retry")
    result = subprocess.run(  # noqa: S603 # nosec B603 # argument list, no shell
        [program, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        refuse(f"git {args[0]} failed ({reason})", "fix the repository, then retry")
    return result.stdout.strip()


def succeeds(*args: str) -> bool:
    """Whether a git query succeeds (a ref exists, HEAD is a branch)."""
    try:
        git(*args)
    except RefusedError:
        return False
    return True


def on_branch(tag: str, ref: str) -> None:
    """Refuse unless HEAD (the tagged commit) is on `ref`, the default branch.

    A release is of the reviewed branch, never of a commit pushed with its tag alone.
    """
    git("rev-parse", "--show-toplevel")  # refuses outside a repository, in git's words
    if not succeeds("rev-parse", "--verify", "--quiet", ref + "^{commit}"):
        refuse(
            f"{ref} does not exist in this clone",
            "fetch it (actions/checkout with fetch-depth: 0), then retry",
        )
    if not succeeds("merge-base", "--is-ancestor", "HEAD", ref):
        head = git("rev-parse", "--short=12", "HEAD")
        branch = ref.split("/", 1)[-1]  # origin/main: main
        refuse(
            f"tag {tag} is at {head}, which is not on {ref}",
            f"merge it into {branch}, push {branch} and re-run this workflow; or delete the tag "
            f"(git push --delete origin {tag})",
        )


def check(tag: str, ref: str | None = None) -> int:
    """Check that TAG names the version, which has its notes, on `ref` if given.

    The release workflow's first step.
    """
    if tag.removeprefix("v").casefold() == UNRELEASED.casefold():
        not_a_version(tag)
    version = project_version()
    if tag != f"v{version}":
        refuse(
            f"tag {tag} does not match the version {version} in {PYPROJECT}",
            f"bump with {BUMP}, or tag v{version}",
        )
    section(version)
    kind = "a pre-release" if prerelease(version) else "a release"
    if ref is not None:
        on_branch(tag, ref)
    where = f", on {ref}" if ref is not None else ""
    print(f"release: {tag} matches {PYPROJECT} and its {CHANGELOG} section{where} ({kind})")
    return 0


def version_of_project(github_output: bool) -> int:
    """Print the version in pyproject.toml, the one reader of it (make, CI, the release)."""
    version = project_version()
    if github_output:
        pre = prerelease(version)  # first: a refusal prints nothing
        print(f"version={version}")
        print(f"prerelease={str(pre).lower()}")
    else:
        print(version)
    return 0


def notes(version: str) -> int:
    """Print the version's CHANGELOG.md section: the GitHub release's notes."""
    print(section(version))
    return 0


def pushed(branch: str) -> str:
    """Refuse unless `branch` has an upstream and no commit ahead of it; return its remote.

    A tag pushed before its commits names a commit nobody else has.
    """
    if not succeeds("rev-parse", "--verify", "--quiet", "@{upstream}"):
        remotes = git("remote").split()
        remote = "origin" if "origin" in remotes or not remotes else remotes[0]
        refuse(f"{branch} has no upstream branch", f"push it first: git push -u {remote} {branch}")
    upstream = git("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}")
    ahead = int(git("rev-list", "--count", "@{upstream}..HEAD"))
    if ahead:
        refuse(f"push {branch} first", f"it is {ahead} commit(s) ahead of {upstream}")
    return git("config", "--default", "origin", "--get", f"branch.{branch}.remote")


def tag() -> int:
    """`make release`: tag vX.Y.Z at HEAD once every check passes; print how to push it."""
    git("rev-parse", "--show-toplevel")  # refuses outside a repository, in git's words
    if not succeeds("rev-parse", "--verify", "--quiet", "HEAD^{commit}"):
        refuse("there is no commit to tag yet", "commit the project first")
    if not succeeds("symbolic-ref", "--quiet", "HEAD"):
        refuse(
            "HEAD is detached (no branch is checked out)",
            "switch to the branch to release (git switch main), then retry",
        )
    if git("status", "--porcelain"):
        refuse(
            "the working tree has uncommitted changes (git status)",
            "commit or stash them, then retry",
        )
    version = project_version()
    prerelease(version)  # refuses a version that is not PEP 440, as the workflow's check does
    text = section(version)
    name = f"v{version}"
    if succeeds("rev-parse", "--verify", "--quiet", f"refs/tags/{name}"):
        at = git("rev-list", "-n", "1", name)[:12]
        refuse(
            f"tag {name} already exists (at {at})",
            f"release the next version: bump with {BUMP}, and give it a {CHANGELOG} section",
        )
    # Last: the checks above may ask for one more commit, which would need pushing again.
    branch = git("symbolic-ref", "--short", "HEAD")
    remote = pushed(branch)
    default = f"refs/remotes/{remote}/HEAD"  # the remote's default branch, when the clone knows it
    if succeeds("rev-parse", "--verify", "--quiet", default) and not succeeds(
        "merge-base", "--is-ancestor", "HEAD", default
    ):
        main = git("rev-parse", "--abbrev-ref", default)
        refuse(
            f"HEAD is not on {main}, the default branch, whose tags alone the workflow publishes",
            f"merge {branch} into it, then release from there",
        )
    # cleanup=whitespace, not strip: the notes' `### Added` lines are not comments to drop.
    git("tag", "--annotate", "--cleanup=whitespace", "-m", f"Release {version}\n\n{text}\n", name)
    push = f"  git push {'origin' if remote == '.' else remote} {name}"
    head = git("rev-parse", "--short=12", "HEAD")
    # A project without the release workflow (no GitHub Actions) publishes by hand.
    if (ROOT / WORKFLOW).is_file():
        print(f"release: tagged {name} at {head}. Publish it with:")
        print(push)
    else:
        print(f"release: tagged {name} at {head}. Push the tag with:")
        print(push)
        print(
            f"No workflow publishes it (there is no {WORKFLOW}): make build writes the sdist "
            f"and wheel to dist/, and python3 scripts/release.py notes {version} prints its notes."
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a refusal is one line on stderr and exit status 1."""
    parser = argparse.ArgumentParser(
        prog="scripts/release.py", description="Check and tag a release of this project."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("tag", help="tag vX.Y.Z at HEAD (make release)")
    check_parser = commands.add_parser("check", help="check a tag (the release workflow)")
    check_parser.add_argument("tag", help="the pushed tag, vX.Y.Z")
    check_parser.add_argument(
        "--on-branch", metavar="REF", help="also check that HEAD is on REF (origin/main)"
    )
    notes_parser = commands.add_parser("notes", help="print a version's CHANGELOG.md section")
    notes_parser.add_argument("version", help="X.Y.Z, without the v")
    version_parser = commands.add_parser("version", help="print the version in pyproject.toml")
    version_parser.add_argument(
        "--github-output",
        action="store_true",
        help="print version=X.Y.Z and prerelease=true|false, for $GITHUB_OUTPUT",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return check(str(args.tag), args.on_branch)
        if args.command == "notes":
            return notes(str(args.version))
        if args.command == "version":
            return version_of_project(bool(args.github_output))
        return tag()
    except RefusedError as refused:
        print(refused, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
