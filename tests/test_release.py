"""Releases: `make release` tags only what CHANGELOG.md, the history and the tests allow, and
tests/releases.py finds releases without tags and makes tagged clones of the template.

`make release` runs for real in a clone of the template (`clone_template`), with `true` or `false`
standing in for the fast tests (RELEASE_TESTS), and its `origin` a local bare repository.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

import releases
from helpers import GIT_ID, ROOT, clean_env, commit_all, git, load_module, run
from releases import (
    OLDER_COMMITS,
    RELEASE_HEADING,
    changelog_versions,
    clone_template,
    release_commits,
    version_key,
)

# Keep a Changelog's kinds of change, and the template's own subsection for manual steps.
SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security", "Upgrading"}
# Whatever the machine's git config says, a test's tag is not signed.
UNSIGNED = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "tag.gpgSign",
    "GIT_CONFIG_VALUE_0": "false",
}
# make's report of a recipe that exited 1 (the one-line message comes before it).
RECIPE_EXITED_1 = re.compile(r"^make: \*\*\* \[Makefile:\d+: release\] Error 1$")


# --- make release, in a clone of the template -------------------------------------------------


@pytest.fixture(scope="module")
def template_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as `clone_template` makes it, once for the module (tests clone it again)."""
    return clone_template(tmp_path_factory.mktemp("release") / "template")


@pytest.fixture
def repo(tmp_path: Path, template_clone: Path) -> Path:
    """A clone of the template for one test, its `origin` a bare repository of its own."""
    path = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(template_clone), str(path))
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(path, "remote", "set-url", "origin", str(tmp_path / "origin.git"))
    return path


def make_release(
    repo: Path, version: str, tests: str = "true", *extra: str
) -> subprocess.CompletedProcess[str]:
    """Run `make release VERSION=version` in `repo`, `tests` standing in for the fast tests."""
    command = ["make", "release", f"VERSION={version}", f"RELEASE_TESTS={tests}", *extra]
    return run(command, repo, env=clean_env(**GIT_ID, **UNSIGNED), check=False)


def tags(repo: Path) -> dict[str, str]:
    """The tags of `repo` and the objects they name."""
    listed = git(repo, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/tags")
    return dict(line.split() for line in listed.splitlines())


def next_major(repo: Path) -> int:
    """A major version above every version `repo` knows: tags, changelog and its history."""
    text = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    known = [*changelog_versions(text), *(tag[1:] for tag in tags(repo))]
    known += [tag[1:] for tag in release_commits(repo)]
    return max((version_key(v)[0] for v in known if re.fullmatch(r"\d+\.\d+\.\d+", v)), default=0)


def add_release(repo: Path, version: str, day: str = "2026-11-30", *, keep: bool = True) -> str:
    """Put `version`'s heading and notes under Unreleased, commit; return the notes.

    `keep=False` drops the other release headings this test added before (the last one only).
    """
    path = repo / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8")
    if not keep:
        text = re.sub(
            r"## \[\d+\.\d+\.\d+\] - [\d-]+\n\n### Fixed\n\n- Test release .*\n\n", "", text
        )
    notes = f"### Fixed\n\n- Test release {version}: a fix in rendered projects."
    section = f"## [{version}] - {day}\n\n{notes}\n\n"
    assert "## [Unreleased]\n\n" in text
    path.write_text(text.replace("## [Unreleased]\n\n", f"## [Unreleased]\n\n{section}", 1))
    commit_all(repo, f"Release {version}")
    return notes


def assert_refused(
    result: subprocess.CompletedProcess[str], repo: Path, before: dict[str, str], *parts: str
) -> str:
    """The release was refused with one `release: what: what to do` line; no tag was made."""
    assert result.returncode == 2, result.stdout + result.stderr  # make's status: a recipe failed
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    message, make_says = lines
    assert re.fullmatch(r"release: [^:].*: \S.*", message), message
    assert RECIPE_EXITED_1.match(make_says), make_says  # the script exited 1
    for part in parts:
        assert part in message
    assert "tagged" not in result.stdout
    assert tags(repo) == before
    return message


def test_make_help_lists_release() -> None:
    help_text = run(["make", "help"], ROOT).stdout
    assert re.search(r"^  release +Tag vX\.Y\.Z at HEAD .*VERSION=X\.Y\.Z$", help_text, re.M)


def test_release_tags_head_with_its_changelog_section(repo: Path, tmp_path: Path) -> None:
    version = f"{next_major(repo) + 1}.0.0"
    notes = add_release(repo, version)
    before = tags(repo)

    result = make_release(repo, version)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "release: running the tests: true" in result.stdout
    assert f"  git push origin v{version}" in result.stdout.splitlines()
    tag = f"v{version}"
    assert set(tags(repo)) == {*before, tag}
    assert git(repo, "cat-file", "-t", tag) == "tag"  # annotated
    head = git(repo, "rev-parse", "HEAD")
    assert git(repo, "rev-parse", f"{tag}^{{commit}}") == head
    message = git(repo, "tag", "-l", "--format=%(contents)", tag)
    assert message.splitlines()[0] == f"Release {version}"
    assert notes in message  # `### Fixed` kept: the notes are not cleaned up as comments
    # The tag and the changelog history name the same commit; nothing was pushed.
    assert release_commits(repo)[tag] == head
    assert not git(repo, "ls-remote", "--tags", str(tmp_path / "origin.git"))


def test_release_runs_make_test_fast_by_default(repo: Path) -> None:
    version = f"{next_major(repo) + 1}.0.0"
    add_release(repo, version)
    env = clean_env(**GIT_ID, **UNSIGNED)
    # MAKE=echo shows the default command without the suite running itself.
    result = run(["make", "release", f"VERSION={version}", "MAKE=echo"], repo, env=env)
    assert "release: running the tests: echo test-fast" in result.stdout
    assert f"v{version}" in tags(repo)


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        ("", "VERSION is missing"),
        ("1.0", 'VERSION "1.0" is not X.Y.Z'),
        ("v1.0.0", 'VERSION "v1.0.0" is not X.Y.Z'),
        ("1.0.0-rc.1", 'VERSION "1.0.0-rc.1" is not X.Y.Z'),
        ("01.0.0", 'VERSION "01.0.0" is not X.Y.Z'),
    ],
)
def test_release_refuses_a_version_that_is_not_x_y_z(
    repo: Path, version: str, problem: str
) -> None:
    before = tags(repo)
    result = make_release(repo, version)
    assert_refused(result, repo, before, f"release: {problem}", "make release VERSION=1.2.3")


@pytest.mark.parametrize("change", ["modified", "untracked"])
def test_release_refuses_a_dirty_tree(repo: Path, change: str) -> None:
    version = f"{next_major(repo) + 1}.0.0"
    add_release(repo, version)
    if change == "modified":
        readme = repo / "README.md"
        readme.write_text(readme.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    else:
        (repo / "notes.txt").write_text("draft\n", encoding="utf-8")
    before = tags(repo)
    result = make_release(repo, version)
    assert_refused(result, repo, before, "uncommitted changes", "commit or stash")


@pytest.mark.parametrize("heading", [None, "## [{v}] 2026-11-30", "## [{v}] - 30.11.2026"])
def test_release_refuses_a_changelog_without_the_heading(repo: Path, heading: str | None) -> None:
    version = f"{next_major(repo) + 1}.0.0"
    if heading is not None:
        path = repo / "CHANGELOG.md"
        text = path.read_text(encoding="utf-8")
        new = f"## [Unreleased]\n\n{heading.format(v=version)}\n\n"
        path.write_text(text.replace("## [Unreleased]\n\n", new, 1), encoding="utf-8")
        commit_all(repo, "A heading that is not one")
    before = tags(repo)
    result = make_release(repo, version)
    assert_refused(
        result,
        repo,
        before,
        f'CHANGELOG.md has no heading "## [{version}] - YYYY-MM-DD"',
        "move the Unreleased notes under",
    )


def test_release_refuses_a_version_below_a_tag_compared_numerically(repo: Path) -> None:
    major = next_major(repo) + 1
    git(repo, "tag", f"v{major}.9.0", "HEAD~1")
    git(repo, "tag", f"v{major}.10.0", "HEAD~1")
    add_release(repo, f"{major}.9.5")
    before = tags(repo)
    result = make_release(repo, f"{major}.9.5")
    assert_refused(
        result,
        repo,
        before,
        f"{major}.9.5 is not newer than {major}.10.0",  # as text, 9.5 would be above 10.0
        f"(tag v{major}.10.0)",
        f"choose a version above {major}.10.0",
    )
    # Numerically, not as text: 10 is above 9.
    git(repo, "tag", "-d", f"v{major}.10.0")
    add_release(repo, f"{major}.10.0")
    assert make_release(repo, f"{major}.10.0").returncode == 0


def test_release_refuses_a_version_below_one_in_the_changelog_history(repo: Path) -> None:
    major = next_major(repo) + 1
    # A heading committed once counts, even after it left the file.
    add_release(repo, f"{major + 1}.0.0")
    add_release(repo, f"{major}.0.0", keep=False)
    assert f"[{major + 1}.0.0]" not in (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    before = tags(repo)
    result = make_release(repo, f"{major}.0.0")
    assert_refused(
        result,
        repo,
        before,
        f"{major}.0.0 is not newer than {major + 1}.0.0",
        "CHANGELOG.md's history",
    )


def test_release_refuses_an_existing_tag(repo: Path) -> None:
    version = f"{next_major(repo) + 1}.0.0"
    git(repo, "tag", f"v{version}", "HEAD")
    add_release(repo, version)
    before = tags(repo)
    result = make_release(repo, version)
    assert_refused(result, repo, before, f"tag v{version} already exists", "next version")


def test_release_refuses_when_the_tests_fail(repo: Path) -> None:
    version = f"{next_major(repo) + 1}.0.0"
    add_release(repo, version)
    before = tags(repo)
    result = make_release(repo, version, tests="false")
    assert "release: running the tests: false" in result.stdout
    assert_refused(result, repo, before, "the tests failed (false exited 1)", "fix them")


def test_release_script_reads_headings_as_the_tests_do() -> None:
    script = load_module(ROOT / ".ci" / "release.py")
    assert script.HEADING.pattern == RELEASE_HEADING.pattern
    assert script.HEADING.flags == RELEASE_HEADING.flags


# --- tests/releases.py ------------------------------------------------------------------------


def test_changelog_versions_reads_release_headings_in_file_order() -> None:
    text = (
        "# Changelog\n\n## [Unreleased]\n\n## [1.10.0] - 2026-12-01\n\n### Added\n\n"
        "## [1.9.0] - 2026-11-01\n\n## [1.8] - 2026-10-01\n### [1.7.0] - 2026-09-01\n"
        " ## [1.6.0] - 2026-08-01\n## [1.5.0] - 2026-07-01 \n## [1.4.0] - 2026-06-01\n"
    )
    assert changelog_versions(text) == ["1.10.0", "1.9.0", "1.4.0"]


def changelog(*sections: str) -> str:
    """A CHANGELOG.md with an Unreleased heading and `sections` below it."""
    return "# Changelog\n\n## [Unreleased]\n\n" + "".join(sections)


def test_release_commits_finds_the_commit_that_added_each_heading(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    path = repo / "CHANGELOG.md"

    def commit(message: str, text: str | None = None, files: dict[str, str] | None = None) -> str:
        if text is not None:
            path.write_text(text, encoding="utf-8")
        for name, content in (files or {}).items():
            (repo / name).write_text(content, encoding="utf-8")
        commit_all(repo, message)
        return git(repo, "rev-parse", "HEAD")

    first = "## [0.1.0] - 2026-01-01\n\n### Added\n\n- One.\n\n"
    second = "## [0.2.0] - 2026-02-01\n\n### Fixed\n\n- Two.\n\n"
    commit("Start", changelog())
    v1 = commit("Release 0.1.0", changelog(first))
    # A heading outside CHANGELOG.md is no release.
    commit("Notes", files={"NOTES.md": "## [9.9.9] - 2026-01-15\n"})
    v2 = commit("Release 0.2.0", changelog(second, first))
    # Later edits of the older section, even of its date, do not move its release.
    edited = first.replace("2026-01-01", "2026-01-02").replace("- One.", "- One.\n- More.")
    commit("Edit 0.1.0", changelog(second, edited))
    # A heading only in the working tree has no commit yet.
    path.write_text(changelog("## [0.3.0] - 2026-03-01\n\n", second, edited), encoding="utf-8")

    found = release_commits(repo)

    assert found == {"v0.1.0": v1, "v0.2.0": v2}
    assert list(found) == ["v0.1.0", "v0.2.0"]  # oldest release first


def test_release_commits_orders_headings_added_together_oldest_first(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    sections = [f"## [{v}] - 2026-0{i + 1}-01\n\n" for i, v in enumerate(["1.10.0", "1.9.0"])]
    (repo / "CHANGELOG.md").write_text(changelog(*sections), encoding="utf-8")
    commit_all(repo, "Import the history")
    head = git(repo, "rev-parse", "HEAD")
    assert list(release_commits(repo).items()) == [("v1.9.0", head), ("v1.10.0", head)]


def test_release_commits_of_the_template_are_in_its_changelog() -> None:
    # 1.0.0 may not be committed yet: {} is an answer too.
    found = release_commits()
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert set(found) <= {f"v{version}" for version in changelog_versions(text)}
    assert list(found) == sorted(found, key=lambda tag: version_key(tag[1:]))


def scratch_template(path: Path) -> dict[str, str]:
    """A small template repository with one release and a working tree of every kind of change."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text("*.log\n", encoding="utf-8")
    (path / "gone.txt").write_text("deleted in the working tree\n", encoding="utf-8")
    (path / "README.md").write_text("v0\n", encoding="utf-8")
    (path / "CHANGELOG.md").write_text(changelog(), encoding="utf-8")
    commit_all(path, "Start")
    start = git(path, "rev-parse", "HEAD")
    (path / "CHANGELOG.md").write_text(changelog("## [1.0.0] - 2026-01-01\n\n"), encoding="utf-8")
    commit_all(path, "Release 1.0.0")
    release = git(path, "rev-parse", "HEAD")
    (path / "README.md").write_text("v1\n", encoding="utf-8")
    commit_all(path, "After the release")
    return {"start": start, "release": release, "head": git(path, "rev-parse", "HEAD")}


def test_clone_template_commits_the_working_tree_and_tags_the_releases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    commits = scratch_template(source)
    new = changelog("## [1.1.0] - 2026-02-01\n\n", "## [1.0.0] - 2026-01-01\n\n")
    (source / "CHANGELOG.md").write_text(new, encoding="utf-8")
    (source / "gone.txt").unlink()
    (source / "new.txt").write_text("untracked\n", encoding="utf-8")
    (source / "debug.log").write_text("ignored\n", encoding="utf-8")
    for name in (".venv", ".tools", ".cache"):
        (source / name).mkdir()
        (source / name / "file").write_text("local\n", encoding="utf-8")
    monkeypatch.setattr(releases, "ROOT", source)

    clone = clone_template(tmp_path / "clone", older={"v0.1.0": commits["start"]})

    assert git(clone, "log", "-1", "--format=%s") == "Working tree"
    assert git(clone, "rev-parse", "HEAD~1") == commits["head"]
    assert not git(clone, "status", "--porcelain")
    assert git(clone, "ls-files").split() == [".gitignore", "CHANGELOG.md", "README.md", "new.txt"]
    assert (clone / "CHANGELOG.md").read_text(encoding="utf-8") == new
    # The release of the history is tagged; the working tree's heading is no release yet.
    assert tags(clone) == {"v0.1.0": commits["start"], "v1.0.0": commits["release"]}
    assert not git(clone, "tag", "--points-at", "HEAD")


def test_clone_template_of_a_clean_tree_adds_no_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    commits = scratch_template(source)
    monkeypatch.setattr(releases, "ROOT", source)
    clone = clone_template(tmp_path / "clone", older={})
    assert git(clone, "rev-parse", "HEAD") == commits["head"]
    assert tags(clone) == {"v1.0.0": commits["release"]}


def test_clone_template_fails_on_a_missing_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    scratch_template(source)
    monkeypatch.setattr(releases, "ROOT", source)
    with pytest.raises(pytest.fail.Exception, match=r"v0\.0\.1: commit 0{40} is not in"):
        clone_template(tmp_path / "clone", older={"v0.0.1": "0" * 40})


@pytest.mark.parametrize("ci", [False, True])
def test_clone_template_of_a_shallow_clone_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: bool
) -> None:
    source = tmp_path / "source"
    scratch_template(source)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", source.as_uri(), str(shallow))
    monkeypatch.setattr(releases, "ROOT", shallow)
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome, match="shallow clone"):
        clone_template(tmp_path / "clone")


def test_clone_template_of_the_template(template_clone: Path) -> None:
    root_head = git(ROOT, "rev-parse", "HEAD")
    if git(ROOT, "status", "--porcelain"):
        assert git(template_clone, "log", "-1", "--format=%s") == "Working tree"
        assert git(template_clone, "rev-parse", "HEAD~1") == root_head
        assert not git(template_clone, "tag", "--points-at", "HEAD")
    else:
        assert git(template_clone, "rev-parse", "HEAD") == root_head
    assert not git(template_clone, "status", "--porcelain")
    for name in (".venv", ".tools", ".cache"):
        assert not (template_clone / name).exists()
    # Files this module's owner writes, as the working tree has them now.
    for name in ("CHANGELOG.md", "tests/releases.py", "tests/test_release.py", ".ci/release.py"):
        assert (template_clone / name).read_bytes() == (ROOT / name).read_bytes()
    expected = {**release_commits(ROOT), **OLDER_COMMITS}
    assert tags(template_clone) == expected
    for tag, commit in OLDER_COMMITS.items():
        assert git(ROOT, "rev-parse", f"{commit}^{{commit}}") == commit, tag


# --- CHANGELOG.md ------------------------------------------------------------------------------


def test_changelog_follows_keep_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# Changelog"
    assert [line for line in lines if line.startswith("# ")] == ["# Changelog"]
    level2 = [line for line in lines if line.startswith("## ")]
    assert level2[0] == "## [Unreleased]"
    for line in level2[1:]:
        assert RELEASE_HEADING.fullmatch(line), f"not a release heading: {line!r}"
    versions = changelog_versions(text)
    keys = [version_key(version) for version in versions]
    assert keys == sorted(set(keys), reverse=True), "versions must strictly decrease"
    # Not in the future anywhere on Earth (UTC+14 is the first to reach a date).
    latest_today = datetime.now(timezone(timedelta(hours=14))).date()
    for match in RELEASE_HEADING.finditer(text):
        assert date.fromisoformat(match["date"]) <= latest_today, match[0]
    sections = re.split(r"^## .*$", text, flags=re.M)
    for heading, body in zip(level2, sections[1:], strict=True):
        kinds = re.findall(r"^### (.*)$", body, re.M)
        assert set(kinds) <= SECTIONS, f"{heading}: {kinds}"
        assert len(kinds) == len(set(kinds)), f"{heading}: a subsection twice"
        if heading != "## [Unreleased]":
            assert "Upgrading" in kinds, f"{heading} has no Upgrading subsection"
    assert not re.search(r"^#{4,} ", text, re.M)


def test_release_refuses_a_head_that_did_not_add_the_heading(repo: Path) -> None:
    version = f"{next_major(repo) + 1}.0.0"
    add_release(repo, version)
    added = git(repo, "rev-parse", "HEAD")
    git(repo, "commit", "-q", "--allow-empty", "--no-verify", "-m", "Later work")
    before = tags(repo)
    result = make_release(repo, version)
    assert_refused(
        result, repo, before, f"the {version} heading was added by {added[:12]}, not by HEAD"
    )


# --- the release workflow: a pushed tag becomes a GitHub release ------------------------------


def test_notes_are_the_section_the_tag_message_holds(repo: Path) -> None:
    version = f"{next_major(repo) + 1}.0.0"
    notes = add_release(repo, version)
    assert make_release(repo, version).returncode == 0
    printed = run([sys.executable, ".ci/release.py", "--notes", version], repo).stdout
    assert printed.startswith(notes)  # and what Unreleased held, now under the heading
    message = git(repo, "tag", "-l", "--format=%(contents)", f"v{version}")
    assert message.strip() == f"Release {version}\n\n{printed.strip()}"


@pytest.mark.parametrize(
    ("version", "says"),
    [("v1.0.0", "is not X.Y.Z"), ("0.0.1", 'has no heading "## [0.0.1] - YYYY-MM-DD"'), ("", "")],
)
def test_notes_of_a_tag_that_is_no_release_fail_in_one_line(version: str, says: str) -> None:
    result = run([sys.executable, ".ci/release.py", "--notes", version], ROOT, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert says in result.stderr


def test_the_release_workflow_publishes_the_tags_changelog_section() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads `on` as true
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    runs = [step.get("run", "") for step in job["steps"]]
    assert 'python3 .ci/release.py --notes "${TAG#v}" > "$RUNNER_TEMP/notes.md"' in runs
    assert any(
        run.startswith('gh release create "$TAG"') and '--notes-file "$RUNNER_TEMP/notes.md"' in run
        for run in runs
    )
