"""Releases of a rendered project: `make release` tags the version in pyproject.toml when
CHANGELOG.md has its notes and the branch is pushed, and refuses anything else in one line,
changing nothing; scripts/release.py's `check`, `notes` and `version`, and `uv build`, are what
the release workflow runs, and run here as it runs them, in clones of real repositories; the
workflow publishes nothing before ci.yml passes, and holds each permission in the one job that
uses it; one reader of the version serves make, CI and the release; CHANGELOG.md stays the
team's through template updates.

`make release` runs in one set-up library (its tests leave it as they found it), pushed to a
bare repository; the rest runs on renders without setup, with this Python.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import GIT_ID, ROOT, clean_env, commit_all, git, load_module, output, run
from linters import VALIDATORS
from project import Project, Renderer, TemplateRepo

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Whatever the machine's git config says, a test's tag is not signed.
UNSIGNED = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "tag.gpgSign",
    "GIT_CONFIG_VALUE_0": "false",
}
# make's report of a recipe that exited 1 (the script's one line comes before it).
RECIPE_EXITED_1 = re.compile(r"^make: \*\*\* \[Makefile:\d+: release\] Error 1$")
REFUSAL = re.compile(r"release: [^:].*: \S.*")
# The release workflow's jobs, the permissions each holds, and why (what in it uses them).
PERMISSIONS = {
    "check": {"contents": "read"},
    "ci": {"contents": "read"},
    "build": {"contents": "read"},
    "publish": {"contents": "read", "id-token": "write", "attestations": "write"},
    "image": {"contents": "read", "packages": "write"},
    "github-release": {"contents": "write"},
}
# The renders whose release workflow differs, each a variant and answers on top: a library
# published to PyPI, a Proprietary one (no PyPI), a service with Docker (an image) and one
# without (an sdist and wheel).
WORKFLOWS: dict[str, tuple[str, dict[str, Any]]] = {
    "library": ("library", {"use_github_actions": True}),
    "library-proprietary": ("library", {"use_github_actions": True, "license": "Proprietary"}),
    "defaults": ("defaults", {}),
    "service-no-docker": ("service-no-docker", {}),
}
JOBS = {
    "library": ["check", "ci", "build", "publish", "github-release"],
    "library-proprietary": ["check", "ci", "build", "github-release"],
    "defaults": ["check", "ci", "image", "github-release"],
    "service-no-docker": ["check", "ci", "build", "github-release"],
}
# The jobs that put something where others get it: PyPI, the registry, the GitHub release.
PUBLISHING = {"publish", "image", "github-release"}
# The GitHub release comes last: once PyPI, or the registry, has what it announces.
BEFORE_THE_RELEASE = {
    "library": "publish",
    "library-proprietary": "build",
    "defaults": "image",
    "service-no-docker": "build",
}
NOTES = "### Added\n\n- The first version of Acme Billing, generated from its Copier template."


def release_script(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the project's scripts/release.py with this Python, as the workflow runs it."""
    command = [sys.executable, "scripts/release.py", *args]
    return run(command, project, env=clean_env(**GIT_ID, **UNSIGNED, **env), check=False)


def copy_of(project: Project, dest: Path) -> Path:
    """A copy of a render (without .git or .venv) that a test may change."""
    ignore = shutil.ignore_patterns(".git", ".venv")
    return Path(shutil.copytree(project.path, dest, ignore=ignore))


def insert_release(path: Path, version: str, notes: str, day: str = "2026-11-30") -> None:
    """Give `version` a CHANGELOG.md section with `notes`, above the newest one."""
    changelog = path / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    section = f"## [Unreleased]\n\n## [{version}] - {day}\n\n{notes}\n"
    assert "## [Unreleased]\n" in text
    changelog.write_text(text.replace("## [Unreleased]\n", section, 1), encoding="utf-8")


def set_version(path: Path, version: str) -> None:
    """Write `version` into pyproject.toml, as make bump-* does."""
    pyproject = path / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert 'version = "0.1.0"' in text
    pyproject.write_text(text.replace('version = "0.1.0"', f'version = "{version}"', 1))


def add_origin(repo: Path, remote: Path) -> None:
    """Make `remote` a bare repository, `repo`'s origin, and push main there as its upstream."""
    git(remote.parent, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "-u", "origin", "main")


def repository(path: Path) -> Path:
    """`path` as a repository: all committed on main, pushed to `<path>.git`, its origin."""
    git(path, "init", "-q", "-b", "main")
    commit_all(path, "Initial commit")
    add_origin(path, path.parent / f"{path.name}.git")
    return path


def github_checkout(repo: Path, tag: str, dest: Path) -> Path:
    """What actions/checkout with fetch-depth: 0 leaves for the pushed tag `tag` of `repo`:
    every branch of origin as origin/<name>, HEAD detached at the tag's commit."""
    git(repo, "push", "-q", "origin", "--all")
    git(repo, "push", "-q", "origin", f"refs/tags/{tag}")
    git(dest.parent, "clone", "-q", str(repo.parent / f"{repo.name}.git"), str(dest))
    git(dest, "checkout", "-q", "--detach", f"refs/tags/{tag}")
    return dest


# --- make release, in a set-up library --------------------------------------------------------


@pytest.fixture(scope="module")
def library_setup(renderer: Renderer) -> Project:
    """A library set up as `copier copy` leaves it, committed."""
    made = renderer.render("library", setup=True)
    made.commit()
    return made


@pytest.fixture
def released(library_setup: Project, tmp_path: Path) -> Iterator[Project]:
    """The set-up library, main pushed to a new bare repository (origin, main's upstream);
    after the test, back on main at its first commit, with no other branch, tags or remote."""
    project = library_setup
    base = project.git("rev-parse", "HEAD")
    assert project.git("status", "--porcelain") == ""
    add_origin(project.path, tmp_path / "origin.git")
    yield project
    project.git("checkout", "-q", "-f", "main")
    project.git("reset", "-q", "--hard", base)
    project.git("clean", "-fdq")  # not -x: .venv stays
    for tag in project.git("tag", "--list").split():
        project.git("tag", "-d", tag)
    for branch in project.git("branch", "--format=%(refname:short)").split():
        if branch != "main":
            project.git("branch", "-q", "-D", branch)
    project.git("remote", "remove", "origin")  # its refs and main's upstream with it


def make_release(project: Project) -> subprocess.CompletedProcess[str]:
    """Run `make release` as a developer would."""
    return project.make("release", check=False, env={**GIT_ID, **UNSIGNED})


def state(project: Project) -> tuple[str, ...]:
    """What a refused release must leave as it was: HEAD, branch, files, tags, index, the
    remote's branches and tags."""
    return (
        project.git("rev-parse", "HEAD"),
        project.git("rev-parse", "--abbrev-ref", "HEAD"),
        project.git("status", "--porcelain", "--untracked-files=all"),
        project.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/tags"),
        project.git("ls-remote", "origin"),
        (project.path / "CHANGELOG.md").read_text(encoding="utf-8"),
        (project.path / "pyproject.toml").read_text(encoding="utf-8"),
    )


@pytest.mark.slow
@pytest.mark.xdist_group("make-release")
def test_make_release_tags_the_version_at_head(released: Project) -> None:
    project = released
    head = project.git("rev-parse", "HEAD")

    result = make_release(project)

    assert result.returncode == 0, output(result)
    # This library has no GitHub Actions: nothing publishes the tag once pushed.
    assert result.stdout.splitlines() == [
        f"release: tagged v0.1.0 at {head[:12]}. Push the tag with:",
        "  git push origin v0.1.0",
        "No workflow publishes it (there is no .github/workflows/release.yml): make build "
        "writes the sdist and wheel to dist/, and python3 scripts/release.py notes 0.1.0 "
        "prints its notes.",
    ]
    assert project.git("tag", "--list") == "v0.1.0"
    assert project.git("cat-file", "-t", "v0.1.0") == "tag"  # annotated
    assert project.git("rev-parse", "v0.1.0^{commit}") == head
    message = project.git("tag", "--list", "--format=%(contents)", "v0.1.0")
    assert message == f"Release 0.1.0\n\n{NOTES}"  # `### Added` kept: not a comment
    assert project.git("status", "--porcelain") == ""
    assert project.git("rev-parse", "HEAD") == head  # no commit, no bump
    assert project.git("ls-remote", "--tags", "origin") == ""  # no push

    # The next release, as the README tells it: bump, move the notes, commit, push, make release.
    project.make("bump-minor")
    insert_release(project.path, "0.2.0", "### Fixed\n\n- Rounding of prices.")
    project.commit("Release 0.2.0")
    project.git("push", "-q")
    result = make_release(project)
    assert result.returncode == 0, output(result)
    assert "  git push origin v0.2.0" in result.stdout.splitlines()
    assert project.git("rev-parse", "v0.2.0^{commit}") == project.git("rev-parse", "HEAD")
    assert sorted(project.git("tag", "--list").split()) == ["v0.1.0", "v0.2.0"]


def dirty_modified(project: Project) -> None:
    """A tracked file changed."""
    readme = project.path / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")


def dirty_untracked(project: Project) -> None:
    """A new file git does not ignore."""
    (project.path / "notes.txt").write_text("draft\n", encoding="utf-8")


def no_section(project: Project) -> None:
    """A version bumped and committed without its CHANGELOG.md section."""
    set_version(project.path, "0.2.0")
    project.commit("Bump to 0.2.0")


def empty_section(project: Project) -> None:
    """A version whose section has subsection headings and a comment, no notes."""
    set_version(project.path, "0.2.0")
    insert_release(project.path, "0.2.0", "### Added\n\n<!-- what is new -->\n\n### Fixed\n")
    project.commit("Release 0.2.0, notes forgotten")


def undated_section(project: Project) -> None:
    """A section whose heading has no release date."""
    set_version(project.path, "0.2.0")
    changelog = project.path / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    section = "## [Unreleased]\n\n## [0.2.0]\n\n### Fixed\n\n- Rounding.\n"
    changelog.write_text(text.replace("## [Unreleased]\n", section, 1), encoding="utf-8")
    project.commit("Release 0.2.0, undated")


def existing_tag(project: Project) -> None:
    """The version's tag exists already (on an older commit)."""
    project.git("tag", "v0.1.0")
    (project.path / "NEWS.txt").write_text("later\n", encoding="utf-8")
    project.commit("Later work")


def detached_head(project: Project) -> None:
    """No branch checked out."""
    project.git("checkout", "-q", "--detach")


def no_upstream(project: Project) -> None:
    """A branch never pushed: it has no upstream branch."""
    project.git("branch", "--unset-upstream")


def unpushed_commit(project: Project) -> None:
    """A commit made after the last push: the tag would name a commit origin lacks."""
    (project.path / "NEWS.txt").write_text("later\n", encoding="utf-8")
    project.commit("Later work, not pushed")


def off_the_default_branch(project: Project) -> None:
    """A feature branch, pushed, while origin's default branch (origin/HEAD) is main."""
    project.git("remote", "set-head", "origin", "main")
    project.git("switch", "-q", "-c", "feature")
    (project.path / "NEWS.txt").write_text("feature\n", encoding="utf-8")
    project.commit("Feature work")
    project.git("push", "-q", "-u", "origin", "feature")


def not_pep_440(project: Project) -> None:
    """A version PyPI and the workflow's check refuse, with its section."""
    set_version(project.path, "1.0.0-final")
    insert_release(project.path, "1.0.0-final", "### Added\n\n- All.\n")
    project.commit("Release 1.0.0-final")
    project.git("push", "-q")


REFUSALS = {
    "off the default branch": (
        off_the_default_branch,
        "release: HEAD is not on origin/main, the default branch, whose tags alone the workflow "
        "publishes: merge feature into it, then release from there",
    ),
    "not PEP 440": (not_pep_440, "1.0.0-final"),
    "modified file": (dirty_modified, "the working tree has uncommitted changes"),
    "untracked file": (dirty_untracked, "the working tree has uncommitted changes"),
    "no section": (no_section, 'CHANGELOG.md has no section for 0.2.0: move the notes under "##'),
    "empty section": (empty_section, "CHANGELOG.md's section for 0.2.0 has no notes"),
    "undated section": (undated_section, 'heads 0.2.0 with "## [0.2.0]", not "## [0.2.0] - '),
    "existing tag": (existing_tag, "tag v0.1.0 already exists"),
    "detached HEAD": (detached_head, "HEAD is detached"),
    "no upstream": (
        no_upstream,
        "release: main has no upstream branch: push it first: git push -u origin main",
    ),
    "unpushed commit": (
        unpushed_commit,
        "release: push main first: it is 1 commit(s) ahead of origin/main",
    ),
}


@pytest.mark.slow
@pytest.mark.xdist_group("make-release")
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_make_release_refuses_in_one_line_and_changes_nothing(released: Project, case: str) -> None:
    arrange, says = REFUSALS[case]
    arrange(released)
    before = state(released)

    result = make_release(released)

    assert result.returncode == 2, output(result)  # make's status: a recipe failed
    message, make_says = result.stderr.splitlines()
    assert REFUSAL.fullmatch(message), message
    assert says in message
    assert RECIPE_EXITED_1.match(make_says), make_says  # the script exited 1
    assert result.stdout == ""
    assert state(released) == before


def test_make_help_lists_release_under_build_and_release(rendered: Project) -> None:
    lines = rendered.make("help").stdout.splitlines()
    group = lines[lines.index("Build and release") + 1 :]
    group = group[: group.index("")]
    assert any(line.split()[0] == "release" for line in group)
    recipe = re.search(r"^release:.*\n\t(.*)$", (rendered.path / "Makefile").read_text(), re.M)
    assert recipe is not None
    assert recipe[1] == "@$(BIN)/python scripts/release.py tag"


# --- scripts/release.py check and notes, on a render without setup ---------------------------


@pytest.fixture(scope="module")
def library(renderer: Renderer) -> Project:
    """A library with GitHub Actions, not set up."""
    variant, answers = WORKFLOWS["library"]
    return renderer.render(variant, **answers)


@pytest.fixture(params=[True, False], ids=["github-actions", "no-github-actions"])
def with_or_without_actions(
    request: pytest.FixtureRequest, library: Project, renderer: Renderer
) -> Project:
    """The library with GitHub Actions, or the suite's library variant, which has none."""
    project = library if request.param else renderer.variant("library")
    assert project.on("use_github_actions") is request.param
    return project


def test_tag_promises_a_workflow_only_where_there_is_one(
    with_or_without_actions: Project, tmp_path: Path
) -> None:
    """What `make release` prints last: with the release workflow, pushing the tag publishes;
    without it, publishing is the team's."""
    project = repository(copy_of(with_or_without_actions, tmp_path / "project"))
    head = git(project, "rev-parse", "--short=12", "HEAD")

    result = release_script(project, "tag")

    assert result.returncode == 0, output(result)
    if with_or_without_actions.on("use_github_actions"):
        assert (project / ".github" / "workflows" / "release.yml").is_file()
        assert result.stdout.splitlines() == [
            f"release: tagged v0.1.0 at {head}. Publish it with:",
            "  git push origin v0.1.0",
        ]
    else:
        assert not (project / ".github" / "workflows").exists()
        assert result.stdout.splitlines() == [
            f"release: tagged v0.1.0 at {head}. Push the tag with:",
            "  git push origin v0.1.0",
            "No workflow publishes it (there is no .github/workflows/release.yml): make build "
            "writes the sdist and wheel to dist/, and python3 scripts/release.py notes 0.1.0 "
            "prints its notes.",
        ]


def test_the_changelog_promises_a_workflow_only_where_there_is_one(
    with_or_without_actions: Project,
) -> None:
    text = (with_or_without_actions.path / "CHANGELOG.md").read_text(encoding="utf-8")
    intro = " ".join(text.split("\n## [Unreleased]\n")[0].split())
    says_workflow = "the release workflow publishes that section as the release notes" in intro
    assert says_workflow is with_or_without_actions.on("use_github_actions")
    if not says_workflow:
        assert "`python3 scripts/release.py notes X.Y.Z` prints that section" in intro
        assert "no workflow publishes a tag" in intro
    assert "commit, push, and run `make release`" in intro


def test_a_new_project_has_a_changelog_for_its_first_version(library: Project) -> None:
    text = (library.path / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## .*$", text, re.M)
    assert headings[0] == "## [Unreleased]"
    match = re.fullmatch(r"## \[(.+)\] - (\d{4}-\d{2}-\d{2})", headings[1])
    assert match is not None, headings
    pyproject = tomllib.loads((library.path / "pyproject.toml").read_text(encoding="utf-8"))
    assert match[1] == pyproject["project"]["version"]
    # Dated the day of the render (local time; a render before midnight shows yesterday).
    assert date.fromisoformat(match[2]) in {date.today(), date.today() - timedelta(days=1)}
    assert len(headings) == 2
    assert "CHANGELOG.md" in yaml.safe_load((ROOT / "copier.yml").read_text())["_skip_if_exists"]


def test_check_passes_for_the_tag_of_the_version(library: Project) -> None:
    result = release_script(library.path, "check", "v0.1.0")
    assert result.returncode == 0, output(result)
    assert result.stdout == (
        "release: v0.1.0 matches pyproject.toml and its CHANGELOG.md section (a release)\n"
    )


def test_check_on_branch_needs_head_on_that_branch(library: Project, tmp_path: Path) -> None:
    """A tag pushed on a commit the default branch lacks publishes nothing; the same tag on
    main passes. In clones as actions/checkout makes them, of a real repository."""
    project = repository(copy_of(library, tmp_path / "project"))
    git(project, "switch", "-q", "-c", "side")
    (project / "NEWS.txt").write_text("never merged\n", encoding="utf-8")
    commit_all(project, "Work on a side branch")
    git(project, "tag", "v0.1.0")  # at the side commit: main never had it
    side = git(project, "rev-parse", "--short=12", "HEAD")
    checkout = github_checkout(project, "v0.1.0", tmp_path / "side")

    refused = release_script(checkout, "check", "v0.1.0", "--on-branch", "origin/main")

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr == (
        f"release: tag v0.1.0 is at {side}, which is not on origin/main: merge it into main, "
        "push main and re-run this workflow; or delete the tag (git push --delete origin v0.1.0)\n"
    )
    # Once merged and pushed, the same commit is on main.
    git(project, "switch", "-q", "main")
    git(project, "merge", "-q", "--ff-only", "side")
    merged = github_checkout(project, "v0.1.0", tmp_path / "merged")
    passed = release_script(merged, "check", "v0.1.0", "--on-branch", "origin/main")
    assert passed.returncode == 0, output(passed)
    assert passed.stdout == (
        "release: v0.1.0 matches pyproject.toml and its CHANGELOG.md section, on origin/main "
        "(a release)\n"
    )
    # A clone without the branch (actions/checkout's default, fetch-depth: 1) is told so.
    missing = release_script(merged, "check", "v0.1.0", "--on-branch", "origin/trunk")
    assert missing.stderr == (
        "release: origin/trunk does not exist in this clone: fetch it (actions/checkout with "
        "fetch-depth: 0), then retry\n"
    )


@pytest.mark.parametrize("tag", ["v0.2.0", "v0.1.0rc1", "v0.1"])
def test_check_fails_in_one_line_for_another_tag(library: Project, tag: str) -> None:
    result = release_script(library.path, "check", tag)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"release: tag {tag} does not match the version 0.1.0 in pyproject.toml: "
        "bump with make bump-patch/minor/major, or tag v0.1.0\n"
    )


def test_check_fails_for_a_version_without_notes(library: Project, tmp_path: Path) -> None:
    project = copy_of(library, tmp_path / "project")
    set_version(project, "0.2.0")
    result = release_script(project, "check", "v0.2.0")
    assert result.returncode == 1
    assert result.stderr.startswith("release: CHANGELOG.md has no section for 0.2.0: ")
    assert len(result.stderr.splitlines()) == 1


CHANGELOG = """# Changelog

## [Unreleased]

### Added

- Not released yet.

## [1.1.0] - 2026-11-30

### Added

- Discounts, with `### headings` in a code span.

<!-- a comment the release keeps -->

### Fixed

- Rounding of prices.
  Continued on a second line.

## [1.0.0] - 2026-10-01

- The first version.

[unreleased]: https://github.com/acme/acme-billing/compare/v1.1.0...HEAD
[1.1.0]: https://github.com/acme/acme-billing/compare/v1.0.0...v1.1.0
[1.0.0]: https://github.com/acme/acme-billing/releases/tag/v1.0.0
"""


def test_notes_prints_exactly_the_section(library: Project, tmp_path: Path) -> None:
    project = copy_of(library, tmp_path / "project")
    (project / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    newer = release_script(project, "notes", "1.1.0")
    assert newer.returncode == 0, output(newer)
    assert newer.stdout == (
        "### Added\n\n- Discounts, with `### headings` in a code span.\n\n"
        "<!-- a comment the release keeps -->\n\n### Fixed\n\n- Rounding of prices.\n"
        "  Continued on a second line.\n"
    )
    oldest = release_script(project, "notes", "1.0.0")  # the link references are not notes
    assert oldest.stdout == "- The first version.\n"
    for missing in ("1.2.0", "Unreleased", "1.1"):
        result = release_script(project, "notes", missing)
        assert result.returncode == 1
        assert len(result.stderr.splitlines()) == 1
        assert result.stdout == ""


def test_linked_headings_and_trailing_spaces_are_headings(library: Project, tmp_path: Path) -> None:
    """Keep a Changelog links each version (`## [1.1.0](url) - date`); an editor may leave
    spaces after the date. Neither hides a section."""
    project = copy_of(library, tmp_path / "project")
    url = "https://github.com/acme/acme-billing/compare/v1.0.0...v1.1.0"
    text = CHANGELOG.replace("## [1.1.0] - 2026-11-30\n", f"## [1.1.0]({url}) - 2026-11-30\n")
    text = text.replace("## [1.0.0] - 2026-10-01\n", "## [1.0.0] - 2026-10-01  \t\n")
    assert f"## [1.1.0]({url}) - 2026-11-30\n" in text
    assert "2026-10-01  \t\n" in text
    (project / "CHANGELOG.md").write_text(text, encoding="utf-8")
    linked = release_script(project, "notes", "1.1.0")
    assert linked.returncode == 0, output(linked)
    assert linked.stdout.startswith("### Added\n\n- Discounts")
    assert linked.stdout.endswith("  Continued on a second line.\n")
    spaced = release_script(project, "notes", "1.0.0")
    assert spaced.returncode == 0, output(spaced)
    assert spaced.stdout == "- The first version.\n"
    set_version(project, "1.1.0")
    checked = release_script(project, "check", "v1.1.0")
    assert checked.returncode == 0, output(checked)


@pytest.mark.parametrize(
    ("command", "name"),
    [("notes", "Unreleased"), ("check", "vUnreleased"), ("check", "Unreleased")],
)
def test_unreleased_is_not_a_version(
    library: Project, tmp_path: Path, command: str, name: str
) -> None:
    """Unreleased gets its own answer, not the advice to date its heading like a version's."""
    project = copy_of(library, tmp_path / "project")
    (project / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    result = release_script(project, command, name)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert REFUSAL.fullmatch(line), line
    assert line.startswith(
        f'release: "{name}" is not a version: its CHANGELOG.md section lists what is not '
        "released yet: bump with make bump-patch/minor/major, move those notes under a new "
        'heading "## [X.Y.Z] - '
    )
    assert line.endswith('" for the new version, commit, and release that version')
    assert "## [Unreleased] - " not in line


PRERELEASES = {
    "1.1.0rc1": True,
    "1.1.0": False,
    "2.0.0a1": True,
    "2.0.0b2": True,
    "2.0.0-rc.1": True,  # PEP 440 normalizes it to 2.0.0rc1
    "1.0.0.dev3": True,
    "1.0.0.post1": False,
    "1.0.0.post1.dev2": True,  # a development release of the post-release
    "1!2.0": False,
    "1.0+local.7": False,
}


@pytest.mark.parametrize("version", sorted(PRERELEASES))
def test_pre_releases_are_told_apart(library: Project, version: str) -> None:
    script = load_module(library.path / "scripts" / "release.py")
    assert script.prerelease(version) is PRERELEASES[version]


def test_a_version_that_is_not_pep_440_is_refused(library: Project, tmp_path: Path) -> None:
    project = copy_of(library, tmp_path / "project")
    set_version(project, "1.0.0-final")
    result = release_script(project, "version", "--github-output")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        'release: pyproject.toml\'s version "1.0.0-final" is not a PEP 440 version: '
    )


PYPROJECTS = {
    "rendered": None,  # the render's own pyproject.toml
    "spaced header, comment": '[ project ]\nname = "a"\nversion = "1.2.3"  # bumped\n',
    "literal string": "[project]\nname = 'a'\nversion = '2.0.0'\n",
    "another table first": '[tool.x]\nversion = "9.9.9"\n\n[project]\nversion = "1.0.0"\n',
    "in a multi-line string": (
        '[project]\nname = "a"\ndescription = """\nversion = "6.6.6"\n"""\nversion = "1.0.1"\n'
    ),
    "array of tables after": '[[tool.y]]\nversion = "3"\n[project]\nversion = "0.0.1"\n',
    "dynamic": '[project]\nname = "a"\ndynamic = ["version"]\n\n[tool.hatch]\nversion = "5"\n',
}


@pytest.mark.parametrize("case", sorted(PYPROJECTS))
def test_python_3_10_reads_the_version_tomllib_reads(
    library: Project, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.10 has no tomllib: the script's line reader must agree with it."""
    script = load_module(library.path / "scripts" / "release.py")
    text = PYPROJECTS[case] or (library.path / "pyproject.toml").read_text(encoding="utf-8")
    expected = tomllib.loads(text)["project"].get("version")
    assert script.scan_version(text) == expected
    assert script.read_version(text) == expected  # tomllib
    monkeypatch.setitem(sys.modules, "tomllib", None)  # as on Python 3.10: no such module
    assert script.read_version(text) == expected


def python_3_10() -> str | None:
    """A Python 3.10 that runs (pyenv's shims may not), or None."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which("python3.10"), *map(str, pyenv.glob("3.10*/bin/python3.10"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 10))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return None


def test_the_script_runs_on_python_3_10(library: Project) -> None:
    python = python_3_10()
    if python is None:
        pytest.skip("no Python 3.10 on this machine (the line reader is tested above)")
    result = run([python, "scripts/release.py", "check", "v0.1.0"], library.path, check=False)
    assert result.returncode == 0, output(result)
    notes = run([python, "scripts/release.py", "notes", "0.1.0"], library.path)
    assert notes.stdout == f"{NOTES}\n"


# --- the release workflow ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(WORKFLOWS))
def kind(request: pytest.FixtureRequest) -> str:
    """A render whose release workflow differs."""
    return str(request.param)


@pytest.fixture(scope="module")
def released_by_workflow(kind: str, renderer: Renderer, library: Project) -> Project:
    """The render of `kind`: the module's library, or a variant as the suite renders it."""
    if kind == "library":
        return library
    variant, answers = WORKFLOWS[kind]
    return renderer.render(variant, **answers) if answers else renderer.variant(variant)


def workflow(project: Project | Path, name: str = "release") -> dict[Any, Any]:
    """One of the project's workflows (the release workflow unless told), parsed."""
    root = project.path if isinstance(project, Project) else project
    path = root / ".github" / "workflows" / f"{name}.yml"
    parsed: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return parsed


def reached(jobs: dict[str, Any], name: str) -> set[str]:
    """Every job that `name` needs, directly or through the jobs it needs."""
    found: set[str] = set()
    todo = needs(jobs[name])
    while todo:
        found |= todo
        todo = set().union(*(needs(jobs[other]) for other in todo)) - found
    return found


# ${{ github.NAME }} in a workflow's string: the only expressions the concurrency groups use.
GITHUB_EXPRESSION = re.compile(r"\$\{\{\s*github\.(\w+)\s*\}\}")


def evaluate(text: str, github: dict[str, str]) -> str:
    """`text` with each ${{ github.NAME }} replaced by its value in `github` (KeyError for any
    other: an expression this test does not know must fail it, not pass it)."""
    assert "${{" not in GITHUB_EXPRESSION.sub("", text), text
    return GITHUB_EXPRESSION.sub(lambda match: github[match[1]], text)


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """A job's steps."""
    found: list[dict[str, Any]] = job["steps"]
    return found


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    """The one step of `job` that uses `action` (owner/name, any pin)."""
    found = [step for step in steps(job) if step.get("uses", "").startswith(f"{action}@")]
    assert len(found) == 1, (action, found)
    return found[0]


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    """The step of `job` called `name`."""
    return next(step for step in steps(job) if step.get("name") == name)


def needs(job: dict[str, Any]) -> set[str]:
    """The jobs `job` needs directly."""
    value = job.get("needs", [])
    return {value} if isinstance(value, str) else set(value)


def test_the_workflow_runs_on_version_tags_and_holds_nothing_by_default(
    released_by_workflow: Project, kind: str
) -> None:
    flow = workflow(released_by_workflow)
    assert flow[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads the key `on` as true
    assert flow["permissions"] == {}
    assert flow["concurrency"]["cancel-in-progress"] is False
    assert list(flow["jobs"]) == JOBS[kind]
    for name, job in flow["jobs"].items():
        if "uses" in job:  # a called workflow: GitHub takes no timeout here, its jobs have one
            assert "timeout-minutes" not in job, name
            called = workflow(released_by_workflow, Path(job["uses"]).stem)["jobs"]
            assert all(isinstance(one["timeout-minutes"], int) for one in called.values())
        else:
            assert isinstance(job["timeout-minutes"], int), name


def test_every_job_needs_the_check(released_by_workflow: Project, kind: str) -> None:
    jobs = workflow(released_by_workflow)["jobs"]
    assert "needs" not in jobs["check"]
    for name in jobs:
        assert name == "check" or "check" in reached(jobs, name), name
    assert needs(jobs["github-release"]) == {"check", "ci", BEFORE_THE_RELEASE[kind]}


def test_nothing_is_published_before_ci_passes(released_by_workflow: Project) -> None:
    """ci.yml, called as the job `ci` on the tagged commit, is needed by every job that
    publishes; the call grants what ci.yml's jobs ask for (a called job that asked for more
    than its caller grants would fail)."""
    jobs = workflow(released_by_workflow)["jobs"]
    ci_job = jobs["ci"]
    assert ci_job["uses"] == "./.github/workflows/ci.yml"
    assert needs(ci_job) == {"check"}
    assert ci_job["permissions"] == {"contents": "read"}
    assert "with" not in ci_job
    assert "secrets" not in ci_job  # CI needs none: none is passed
    publishing = PUBLISHING & set(jobs)
    assert publishing
    for name in publishing:
        assert "ci" in reached(jobs, name), name

    ci = workflow(released_by_workflow, "ci")
    assert "workflow_call" in ci[True]  # YAML 1.1 reads the key `on` as true
    assert ci["permissions"] == {}
    order = {"none": 0, "read": 1, "write": 2}
    for name, job in ci["jobs"].items():
        for scope, level in job["permissions"].items():
            granted = ci_job["permissions"].get(scope, "none")
            assert order[level] <= order[granted], (name, scope, level)


@pytest.mark.parametrize("ref", ["refs/tags/v0.1.0", "refs/heads/main"])
def test_the_called_ci_never_waits_for_its_caller(released_by_workflow: Project, ref: str) -> None:
    """In a called workflow, github.workflow is the caller's name ("Release"): ci.yml's
    concurrency group must still differ from release.yml's for the same ref, or the call
    waits for the run that waits for it."""
    release = workflow(released_by_workflow)
    ci = workflow(released_by_workflow, "ci")
    github = {"workflow": release["name"], "ref": ref}  # what both see during the release
    release_group = evaluate(release["concurrency"]["group"], github)
    ci_group = evaluate(ci["concurrency"]["group"], github)
    assert ci_group != release_group
    assert ref in ci_group  # still one CI run per ref
    # On its own (a push to main, a pull request), CI's group names the ref alike.
    alone = evaluate(ci["concurrency"]["group"], {"workflow": ci["name"], "ref": ref})
    assert alone == ci_group
    assert release["concurrency"]["cancel-in-progress"] is False


def test_each_permission_is_held_by_the_one_job_that_uses_it(
    released_by_workflow: Project, kind: str
) -> None:
    jobs = workflow(released_by_workflow)["jobs"]
    assert {name: job["permissions"] for name, job in jobs.items()} == {
        name: PERMISSIONS[name] for name in JOBS[kind]
    }
    writers = {
        scope: [name for name, job in jobs.items() if job["permissions"].get(scope) == "write"]
        for scope in ("id-token", "contents", "packages")
    }
    assert writers["id-token"] == (["publish"] if kind == "library" else [])
    assert writers["contents"] == ["github-release"]
    assert writers["packages"] == (["image"] if kind == "defaults" else [])
    # What uses them: trusted publishing and the attestation; the release; the push.
    if "publish" in jobs:
        publish = jobs["publish"]
        assert publish["environment"]["name"] == "pypi"
        assert step_using(publish, "actions/attest-build-provenance")["with"] == {
            "subject-path": "dist/*"
        }
        assert step_named(publish, "Publish with trusted publishing")["run"] == (
            "uv publish --trusted-publishing always dist/*"
        )
        assert not any("actions/checkout@" in step.get("uses", "") for step in steps(publish))
    release = step_named(jobs["github-release"], "Create the release")
    assert '\ngh release create "$TAG" ' in release["run"]
    assert "--verify-tag" in release["run"]
    assert release["env"] == {
        "GH_TOKEN": "${{ github.token }}",
        "TAG": "${{ github.ref_name }}",
        "PRERELEASE": "${{ needs.check.outputs.prerelease }}",
    }
    assert release["run"].rstrip().endswith(" dist/*") == ("build" in jobs)
    if "image" in jobs:
        assert step_using(jobs["image"], "docker/build-push-action")["with"]["push"] is True


def test_the_image_is_the_one_make_docker_build_makes(renderer: Renderer) -> None:
    project = renderer.variant("defaults")
    makefile = (project.path / "Makefile").read_text(encoding="utf-8")
    image_default = re.search(r"^IMAGE \?= (\S+)$", makefile, re.M)
    assert image_default is not None
    assert image_default[1] == project.answers["project_slug"]
    assert '--build-arg VERSION="$$($(PROJECT_VERSION))"' in makefile

    job = workflow(project)["jobs"]["image"]
    meta = step_using(job, "docker/metadata-action")
    owner = "${{ github.repository_owner }}"  # lowercased by the action, as ghcr.io needs
    assert meta["with"]["images"] == f"ghcr.io/{owner}/{image_default[1]}"
    assert meta["with"]["tags"].splitlines() == [
        "type=raw,value=${{ needs.check.outputs.version }}",  # X.Y.Z, as check proved
        "type=sha",  # sha-<7 characters>
    ]
    assert meta["with"]["flavor"] == "latest=false"
    assert step_using(job, "docker/login-action")["with"] == {
        "registry": "ghcr.io",
        "username": "${{ github.actor }}",
        "password": "${{ github.token }}",
    }
    build = step_using(job, "docker/build-push-action")["with"]
    assert build == {
        "context": ".",
        "build-args": "VERSION=${{ needs.check.outputs.version }}",
        "tags": f"${{{{ steps.{meta['id']}.outputs.tags }}}}",
        "push": True,
        "sbom": True,
        "provenance": "mode=max",
    }


# A stand-in gh (GitHub is out of reach): it records its arguments, one a line, in $GH_LOG.
STAND_IN_GH = '#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$GH_LOG"\n'
BASH = ["bash", "-e", "-o", "pipefail", "-c"]  # as GitHub runs a step's script


def github_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A step's environment on a runner: RUNNER_TEMP, GITHUB_OUTPUT, the repository, and gh
    (the stand-in) first on PATH."""
    bin_dir = tmp_path / "bin"
    if not bin_dir.is_dir():
        bin_dir.mkdir()
        (bin_dir / "gh").write_text(STAND_IN_GH, encoding="utf-8")
        (bin_dir / "gh").chmod(0o755)
    env = clean_env(
        RUNNER_TEMP=str(tmp_path),
        GITHUB_OUTPUT=str(tmp_path / "output"),
        GITHUB_REPOSITORY="acme/acme-billing",
        GH_LOG=str(tmp_path / "gh.log"),
        **extra,
    )
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def run_step(
    step: dict[str, Any], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """A step's `run:` script, run by bash as GitHub runs it (not checked: tests read it)."""
    return run([*BASH, step["run"]], cwd, env=env, check=False)


def test_the_workflow_steps_run_here_as_on_github(
    released_by_workflow: Project, kind: str, tmp_path: Path
) -> None:
    """The check, notes, build and release steps' own scripts, run by bash with the workflow's
    env, in a clone of the pushed tag as actions/checkout makes it."""
    jobs = workflow(released_by_workflow)["jobs"]
    project = repository(copy_of(released_by_workflow, tmp_path / "project"))
    git(project, "tag", "v0.1.0")
    checkout = github_checkout(project, "v0.1.0", tmp_path / "checkout")
    output_file = tmp_path / "output"

    assert step_using(jobs["check"], "actions/checkout")["with"] == {
        "persist-credentials": False,
        "fetch-depth": 0,  # every branch: the check needs origin/<default branch>
    }
    check = step_named(jobs["check"], "Check the tag")
    assert check["env"] == {
        "TAG": "${{ github.ref_name }}",
        "DEFAULT_BRANCH": "${{ github.event.repository.default_branch }}",
    }
    assert check["run"].startswith(
        'python3 scripts/release.py check "$TAG" --on-branch "origin/$DEFAULT_BRANCH"\n'
    )
    assert jobs["check"]["outputs"] == {
        "version": "${{ steps.check.outputs.version }}",
        "prerelease": "${{ steps.check.outputs.prerelease }}",
    }
    on_main = github_env(tmp_path, TAG="v0.1.0", DEFAULT_BRANCH="main")
    passed = run_step(check, checkout, on_main)
    assert passed.returncode == 0, output(passed)
    assert passed.stdout.startswith("release: v0.1.0 matches")
    assert output_file.read_text() == "version=0.1.0\nprerelease=false\n"
    failed = run_step(check, checkout, {**on_main, "TAG": "v9.0.0"})
    assert failed.returncode == 1
    assert failed.stderr.startswith("release: tag v9.0.0 does not match the version 0.1.0")
    elsewhere = run_step(check, checkout, {**on_main, "DEFAULT_BRANCH": "trunk"})
    assert elsewhere.returncode == 1
    assert elsewhere.stderr.startswith("release: origin/trunk does not exist in this clone")
    assert output_file.read_text() == "version=0.1.0\nprerelease=false\n"  # none for the others

    notes = step_named(jobs["github-release"], "Release notes from CHANGELOG.md")
    assert notes["env"] == {"VERSION": "${{ needs.check.outputs.version }}"}
    made = run_step(notes, checkout, github_env(tmp_path, VERSION="0.1.0"))
    assert made.returncode == 0, output(made)
    assert (tmp_path / "notes.md").read_text() == f"{NOTES}\n"

    built: list[str] = []
    if "build" in jobs:
        build = step_named(jobs["build"], "Build, as make build does")
        makefile = (checkout / "Makefile").read_text(encoding="utf-8")
        recipe = re.search(r"^build:.*\n\t\$\(UV\) (.*)$", makefile, re.M)
        assert recipe is not None
        assert build["run"] == f"uv {recipe[1]}"
        run([*BASH, build["run"]], checkout)
        # What `dist/*` gives the later jobs' commands (uv's dist/.gitignore: bash skips it, as
        # upload-artifact does hidden files).
        built = run([*BASH, "printf '%s\\n' dist/*"], checkout).stdout.splitlines()
        wheel, sdist = "dist/acme_billing-0.1.0-py3-none-any.whl", "dist/acme_billing-0.1.0.tar.gz"
        assert built == [wheel, sdist]
        upload = step_using(jobs["build"], "actions/upload-artifact")["with"]
        assert upload == {"name": "dist", "path": "dist/", "if-no-files-found": "error"}

    create = step_named(jobs["github-release"], "Create the release")
    # No GH_TOKEN: the stand-in gh needs none.
    env = github_env(tmp_path, TAG="v0.1.0", PRERELEASE="false")
    created = run_step(create, checkout, env)
    assert created.returncode == 0, output(created)
    assert (tmp_path / "gh.log").read_text().splitlines() == [
        *("release", "create", "v0.1.0", "--repo", "acme/acme-billing", "--verify-tag"),
        *("--title", "v0.1.0", "--notes-file", str(tmp_path / "notes.md")),
        *built,
    ]


@pytest.mark.parametrize(("version", "prerelease"), [("1.1.0rc1", True), ("1.1.0", False)])
def test_a_pre_release_is_released_as_one(
    library: Project, tmp_path: Path, version: str, prerelease: bool
) -> None:
    """The check step's prerelease output, passed to the release step as the workflow passes
    it, adds --prerelease for a PEP 440 pre-release only."""
    jobs = workflow(library)["jobs"]
    project = copy_of(library, tmp_path / "project")
    set_version(project, version)
    insert_release(project, version, "### Added\n\n- Discounts.")
    repository(project)
    git(project, "tag", f"v{version}")
    checkout = github_checkout(project, f"v{version}", tmp_path / "checkout")

    check = step_named(jobs["check"], "Check the tag")
    env = github_env(tmp_path, TAG=f"v{version}", DEFAULT_BRANCH="main")
    checked = run_step(check, checkout, env)
    assert checked.returncode == 0, output(checked)
    kind = "a pre-release" if prerelease else "a release"
    assert checked.stdout.endswith(f", on origin/main ({kind})\n")
    outputs = dict(line.split("=", 1) for line in (tmp_path / "output").read_text().splitlines())
    assert outputs == {"version": version, "prerelease": str(prerelease).lower()}

    create = step_named(jobs["github-release"], "Create the release")
    # The job's env, each `needs.check.outputs.X` given the check's output X.
    needed = re.compile(r"^\$\{\{ needs\.check\.outputs\.(\w+) \}\}$")
    step_env = {
        name: outputs[match[1]]
        for name, value in create["env"].items()
        if (match := needed.match(value))
    }
    assert step_env == {"PRERELEASE": str(prerelease).lower()}
    dist = checkout / "dist"
    dist.mkdir()
    (dist / "acme_billing.whl").write_text("", encoding="utf-8")
    created = run_step(create, checkout, {**env, **step_env})
    assert created.returncode == 0, output(created)
    args = (tmp_path / "gh.log").read_text().splitlines()
    assert ("--prerelease" in args) is prerelease
    assert args[:3] == ["release", "create", f"v{version}"]
    assert args[-1] == "dist/acme_billing.whl"


def test_a_literal_string_version_is_read_alike_everywhere(
    renderer: Renderer, tmp_path: Path
) -> None:
    """`version = '1.0.0'` (a TOML literal string) is 1.0.0 for scripts/release.py version,
    make docker-build and docker-push, CI's image job and the release's check: one reader."""
    project = copy_of(renderer.variant("defaults"), tmp_path / "project")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert 'version = "0.1.0"' in text
    pyproject.write_text(text.replace('version = "0.1.0"', "version = '1.0.0'", 1))
    insert_release(project, "1.0.0", "### Changed\n\n- Stable.")

    printed = release_script(project, "version")
    assert (printed.returncode, printed.stdout) == (0, "1.0.0\n"), output(printed)

    # make docker-build's build argument and docker-push's hint, with a stand-in docker.
    docker = tmp_path / "docker"
    docker.write_text('#!/usr/bin/env bash\necho "docker $*" >> "$DOCKER_LOG"\n')
    docker.chmod(0o755)
    log = tmp_path / "docker.log"
    make_env = clean_env(DOCKER_LOG=str(log))
    run(["make", "docker-build", f"DOCKER={docker}"], project, env=make_env)
    assert log.read_text() == "docker build --build-arg VERSION=1.0.0 --tag acme-billing:latest .\n"
    hint = run(["make", "docker-push", f"DOCKER={docker}"], project, env=make_env, check=False)
    assert "make docker-push REGISTRY=registry.example.com/team TAG=1.0.0" in hint.stderr

    # CI's image job.
    image = workflow(project, "ci")["jobs"]["image"]
    read = next(step for step in image["steps"] if step.get("id") == "version")
    assert run_step(read, project, github_env(tmp_path)).returncode == 0
    assert (tmp_path / "output").read_text() == "version=1.0.0\n"

    # The release's check, on the pushed tag.
    (tmp_path / "output").unlink()
    repository(project)
    git(project, "tag", "v1.0.0")
    checkout = github_checkout(project, "v1.0.0", tmp_path / "checkout")
    check = step_named(workflow(project)["jobs"]["check"], "Check the tag")
    env = github_env(tmp_path, TAG="v1.0.0", DEFAULT_BRANCH="main")
    checked = run_step(check, checkout, env)
    assert checked.returncode == 0, output(checked)
    assert (tmp_path / "output").read_text() == "version=1.0.0\nprerelease=false\n"


def test_the_readme_says_when_attestations_fail(released_by_workflow: Project) -> None:
    """GitHub Free, Pro and Team attest only in public repositories: the README says so, and
    what happens otherwise, wherever the workflow attests."""
    jobs = workflow(released_by_workflow)["jobs"]
    attests = any(
        step.get("uses", "").startswith("actions/attest-build-provenance@")
        for job in jobs.values()
        for step in job.get("steps", [])
    )
    readme = (released_by_workflow.path / "README.md").read_text(encoding="utf-8")
    release = " ".join(readme.split("\n## Release\n")[1].split("\n## ")[0].split())
    says = "The attestation needs a public repository on GitHub Free, Pro or Team plans" in release
    assert says is attests
    if attests:
        assert "fails at the attestation step, before anything is uploaded to PyPI" in release
        assert "make the repository public, or remove the" in release
    assert "nothing is published unless they all pass" in release
    assert "whose commit is not on the default branch" in release


@pytest.mark.parametrize("validator", sorted(VALIDATORS))
# The renders no variant is: tests/test_workflows.py validates the variants already.
@pytest.mark.parametrize(
    "kind", [k for k, (_, answers) in WORKFLOWS.items() if answers], indirect=True
)
def test_the_workflows_pass_the_validators(validator: str, released_by_workflow: Project) -> None:
    """The libraries with Actions, which tests/test_workflows.py does not meet."""
    VALIDATORS[validator](released_by_workflow.path)


# --- CHANGELOG.md through template updates ----------------------------------------------------

# The project's own update, as `make template-update COPIER_ARGS=--defaults` runs it.
UPDATE = ["python3", "scripts/template-update.py", "run", "--defaults"]
TEAM_CHANGELOG = """# Changelog of the billing team

## [Unreleased]

### Added

- Discounts (not released yet).

## [0.1.0] - 2026-01-15

### Added

- Invoices, our way.
"""


@pytest.mark.slow
def test_an_update_leaves_the_teams_changelog_as_they_wrote_it(template: TemplateRepo) -> None:
    project = template.renderer.render("library")
    project.commit("Initial project")
    (project.path / "CHANGELOG.md").write_text(TEAM_CHANGELOG, encoding="utf-8")
    project.commit("Our changelog")
    # v2 changes the template's CHANGELOG.md (and so would rewrite one nobody owned).
    template.release(
        "v2", "CHANGELOG.md.jinja", "# Changelog\n", "# Changelog\n\nA new template line.\n"
    )

    result = project.run(UPDATE, check=False)

    assert result.returncode == 0, output(result)
    assert project.answers["_commit"] == "v2"
    assert (project.path / "CHANGELOG.md").read_text(encoding="utf-8") == TEAM_CHANGELOG
    assert "CHANGELOG.md" not in project.git("status", "--porcelain")


@pytest.mark.slow
def test_an_update_that_brings_the_changelog_invents_no_version(template: TemplateRepo) -> None:
    """A project from a release without CHANGELOG.md gets one with Unreleased alone: its
    versions are its own, not the template's 0.1.0 dated the day of the update."""
    template.remove("v2", "CHANGELOG.md.jinja")
    project = template.renderer.render("library", vcs_ref="v2")
    assert not (project.path / "CHANGELOG.md").exists()
    project.commit("Initial project")
    git(template.path, "checkout", "v1", "--", "template/CHANGELOG.md.jinja")
    commit_all(template.path, "v3")
    git(template.path, "tag", "v3")

    result = project.run(UPDATE, check=False)

    assert result.returncode == 0, output(result)
    text = (project.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.findall(r"^## .*$", text, re.M) == ["## [Unreleased]"]
    refused = release_script(project.path, "check", "v0.1.0")
    assert refused.stderr.startswith("release: CHANGELOG.md has no section for 0.1.0: ")
