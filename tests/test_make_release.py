"""Releases of a rendered project: `make release` tags the version in pyproject.toml when
CHANGELOG.md has its notes and refuses anything else in one line, changing nothing;
scripts/release.py's `check` and `notes`, and `uv build`, are what the release workflow runs,
and run here as it runs them; the workflow holds each permission in the one job that uses it;
CHANGELOG.md stays the team's through template updates.

`make release` runs in one set-up library (its tests leave it as they found it); the rest runs
on renders without setup, with this Python.
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
    "library": ["check", "build", "publish", "github-release"],
    "library-proprietary": ["check", "build", "github-release"],
    "defaults": ["check", "image", "github-release"],
    "service-no-docker": ["check", "build", "github-release"],
}
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


# --- make release, in a set-up library --------------------------------------------------------


@pytest.fixture(scope="module")
def library_setup(renderer: Renderer) -> Project:
    """A library set up as `copier copy` leaves it, committed."""
    made = renderer.render("library", setup=True)
    made.commit()
    return made


@pytest.fixture
def released(library_setup: Project) -> Iterator[Project]:
    """The set-up library; after the test, back on main at its first commit, with no tags."""
    project = library_setup
    base = project.git("rev-parse", "HEAD")
    assert project.git("status", "--porcelain") == ""
    yield project
    project.git("checkout", "-q", "-f", "main")
    project.git("reset", "-q", "--hard", base)
    project.git("clean", "-fdq")  # not -x: .venv stays
    for tag in project.git("tag", "--list").split():
        project.git("tag", "-d", tag)


def make_release(project: Project) -> subprocess.CompletedProcess[str]:
    """Run `make release` as a developer would."""
    return project.make("release", check=False, env={**GIT_ID, **UNSIGNED})


def state(project: Project) -> tuple[str, ...]:
    """What a refused release must leave as it was: HEAD, branch, files, tags, index."""
    return (
        project.git("rev-parse", "HEAD"),
        project.git("rev-parse", "--abbrev-ref", "HEAD"),
        project.git("status", "--porcelain", "--untracked-files=all"),
        project.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/tags"),
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
    assert result.stdout.splitlines() == [
        f"release: tagged v0.1.0 at {head[:12]}. Publish it with:",
        "  git push origin v0.1.0",
    ]
    assert project.git("tag", "--list") == "v0.1.0"
    assert project.git("cat-file", "-t", "v0.1.0") == "tag"  # annotated
    assert project.git("rev-parse", "v0.1.0^{commit}") == head
    message = project.git("tag", "--list", "--format=%(contents)", "v0.1.0")
    assert message == f"Release 0.1.0\n\n{NOTES}"  # `### Added` kept: not a comment
    assert project.git("status", "--porcelain") == ""
    assert project.git("rev-parse", "HEAD") == head  # no commit, no bump

    # The next release, as the README tells it: bump, move the notes, commit, make release.
    project.make("bump-minor")
    insert_release(project.path, "0.2.0", "### Fixed\n\n- Rounding of prices.")
    project.commit("Release 0.2.0")
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


REFUSALS = {
    "modified file": (dirty_modified, "the working tree has uncommitted changes"),
    "untracked file": (dirty_untracked, "the working tree has uncommitted changes"),
    "no section": (no_section, 'CHANGELOG.md has no section for 0.2.0: move the notes under "##'),
    "empty section": (empty_section, "CHANGELOG.md's section for 0.2.0 has no notes"),
    "undated section": (undated_section, 'heads 0.2.0 with "## [0.2.0]", not "## [0.2.0] - '),
    "existing tag": (existing_tag, "tag v0.1.0 already exists"),
    "detached HEAD": (detached_head, "HEAD is detached"),
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
    assert result.stdout == "release: v0.1.0 matches pyproject.toml and its CHANGELOG.md section\n"


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


def workflow(project: Project) -> dict[Any, Any]:
    """The project's release workflow, parsed."""
    path = project.path / ".github" / "workflows" / "release.yml"
    parsed: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return parsed


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
    assert all(isinstance(job["timeout-minutes"], int) for job in flow["jobs"].values())


def test_every_job_needs_the_check(released_by_workflow: Project, kind: str) -> None:
    jobs = workflow(released_by_workflow)["jobs"]
    assert "needs" not in jobs["check"]
    for name in jobs:
        reached: set[str] = set()
        todo = needs(jobs[name])
        while todo:
            reached |= todo
            todo = set().union(*(needs(jobs[other]) for other in todo)) - reached
        assert name == "check" or "check" in reached, name
    assert needs(jobs["github-release"]) == {"check", BEFORE_THE_RELEASE[kind]}


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
    assert release["run"].startswith('gh release create "$TAG" ')
    assert "--verify-tag" in release["run"]
    assert release["env"] == {"GH_TOKEN": "${{ github.token }}", "TAG": "${{ github.ref_name }}"}
    assert release["run"].endswith(" dist/*") == ("build" in jobs)
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


def test_the_workflow_steps_run_here_as_on_github(
    released_by_workflow: Project, kind: str, tmp_path: Path
) -> None:
    """The check, notes and build steps' own scripts, run by bash with the workflow's env."""
    jobs = workflow(released_by_workflow)["jobs"]
    project = copy_of(released_by_workflow, tmp_path / "project")
    github = {"RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(tmp_path / "output")}

    check = step_named(jobs["check"], "Check the tag")
    assert check["env"] == {"TAG": "${{ github.ref_name }}"}
    assert check["run"].startswith('python3 scripts/release.py check "$TAG"\n')
    assert jobs["check"]["outputs"] == {"version": "${{ steps.check.outputs.version }}"}
    bash = ["bash", "-e", "-c"]  # as GitHub runs a step's script
    passed = run([*bash, check["run"]], project, env=clean_env(**github, TAG="v0.1.0"))
    assert passed.stdout.startswith("release: v0.1.0 matches")
    assert (tmp_path / "output").read_text() == "version=0.1.0\n"
    other = clean_env(**github, TAG="v9.0.0")
    failed = run([*bash, check["run"]], project, env=other, check=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("release: tag v9.0.0 does not match the version 0.1.0")
    assert (tmp_path / "output").read_text() == "version=0.1.0\n"  # no version for the others

    notes = step_named(jobs["github-release"], "Release notes from CHANGELOG.md")
    assert notes["env"] == {"VERSION": "${{ needs.check.outputs.version }}"}
    run([*bash, notes["run"]], project, env=clean_env(**github, VERSION="0.1.0"))
    assert (tmp_path / "notes.md").read_text() == f"{NOTES}\n"

    if "build" not in jobs:
        return
    build = step_named(jobs["build"], "Build, as make build does")
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^build:.*\n\t\$\(UV\) (.*)$", makefile, re.M)
    assert recipe is not None
    assert build["run"] == f"uv {recipe[1]}"
    run([*bash, build["run"]], project)
    # What `dist/*` gives the later jobs' commands (uv's dist/.gitignore: bash skips it, as
    # upload-artifact does hidden files).
    built = run([*bash, "printf '%s\\n' dist/*"], project).stdout.splitlines()
    assert built == ["dist/acme_billing-0.1.0-py3-none-any.whl", "dist/acme_billing-0.1.0.tar.gz"]
    upload = step_using(jobs["build"], "actions/upload-artifact")["with"]
    assert upload == {"name": "dist", "path": "dist/", "if-no-files-found": "error"}


@pytest.mark.parametrize("validator", sorted(VALIDATORS))
def test_the_workflows_pass_the_validators(validator: str, released_by_workflow: Project) -> None:
    """tests/test_workflows.py runs them on the variants, none of which is a library with
    Actions."""
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
