"""scripts/template-sync.sh (what the template-sync workflow runs) against a local template
repository with two tagged versions, and a local bare remote standing in for GitHub."""

from __future__ import annotations

from pathlib import Path

import copier
import pytest

from helpers import BASE_ANSWERS, GIT_ID, clean_env, commit_all, run

pytestmark = pytest.mark.slow


def git(repo: Path, *args: str) -> str:
    """Run git with a fixed identity; return stdout."""
    return run(["git", *args], repo, env=clean_env(**GIT_ID)).stdout.strip()


def template_sync(project: Path, *args: str, outputs: Path | None = None) -> dict[str, str]:
    """Run the script; return the key=value lines it printed (checked against $GITHUB_OUTPUT)."""
    env = clean_env(**({"GITHUB_OUTPUT": str(outputs)} if outputs else {}))
    out = run(["bash", "scripts/template-sync.sh", *args], project, env=env).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if outputs is not None:
        assert outputs.read_text() == out
        outputs.unlink()
    return values


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    """A project rendered from template v1, set up, committed, with an `origin` remote."""
    path = tmp_path / "project"
    copier.run_copy(str(template), str(path), data={**BASE_ANSWERS, "skip_setup": True},
                    defaults=True, unsafe=True, quiet=True)  # fmt: skip
    run(["make", "setup"], path)
    commit_all(path, "Initial project")
    remote = tmp_path / "remote.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], tmp_path)
    git(path, "remote", "add", "origin", str(remote))
    git(path, "push", "-q", "origin", "main")
    return path


def release_v2(template: Path, old: str, new: str) -> None:
    """Change one line of the template's .editorconfig and tag the result v2."""
    editorconfig = template / "template" / ".editorconfig"
    editorconfig.write_text(editorconfig.read_text().replace(old, new))
    commit_all(template, "v2")
    run(["git", "tag", "v2"], template)


def test_no_release_no_commit_then_a_release_becomes_one_pushed_commit(
    template: Path, project: Path, tmp_path: Path
) -> None:
    main = git(project, "rev-parse", "HEAD")
    outputs = tmp_path / "github-output"
    values = template_sync(project, "update", outputs=outputs)
    assert values["changed"] == "false"
    assert values["from"] == values["to"] == "v1"
    assert git(project, "branch", "--list", "template-sync") == ""
    assert git(project, "rev-parse", "HEAD") == main
    assert git(project, "status", "--porcelain") == ""

    release_v2(template, "indent_size = 4", "indent_size = 4\nmax_line_length = 100")
    body = tmp_path / "body.md"
    values = template_sync(project, "update", "--body", str(body), outputs=outputs)
    assert values == {
        "changed": "true", "conflicts": "false", "from": "v1", "to": "v2", "base": "main",
        "branch": "template-sync", "body": str(body),
    }  # fmt: skip
    # main and the working tree are untouched; the update is one commit on template-sync.
    assert git(project, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(project, "rev-parse", "HEAD") == main
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-parse", "template-sync^") == main
    changed = git(project, "diff", "--name-only", "main", "template-sync").split()
    assert ".editorconfig" in changed
    assert ".copier-answers.yml" in changed
    assert "max_line_length = 100" in git(project, "show", "template-sync:.editorconfig")
    assert "from template `v1` to `v2`" in body.read_text()
    assert "### Conflicts" not in body.read_text()
    author = git(project, "log", "-1", "--format=%an <%ae>", "template-sync")
    assert author == "template-sync[bot] <template-sync@users.noreply.github.com>"

    remote = project.parent / "remote.git"
    assert template_sync(project, "push") == {"pushed": "true"}
    assert git(remote, "rev-parse", "template-sync") == git(project, "rev-parse", "template-sync")
    # The next scheduled run finds the same update: nothing new to push.
    template_sync(project, "update", "--body", str(body))
    assert template_sync(project, "push") == {"pushed": "false"}


def test_commits_added_by_hand_to_the_branch_are_never_overwritten(
    template: Path, project: Path, tmp_path: Path
) -> None:
    release_v2(template, "indent_size = 4", "indent_size = 4\nmax_line_length = 100")
    template_sync(project, "update")
    template_sync(project, "push")
    # Someone fixes something on the pull request's branch.
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", "-b", "template-sync", str(project.parent / "remote.git"),
         str(clone)], tmp_path)  # fmt: skip
    (clone / "NOTES.md").write_text("reviewed\n")
    commit_all(clone, "Review notes")
    git(clone, "push", "-q", "origin", "template-sync")
    human = git(clone, "rev-parse", "HEAD")

    git(project, "commit", "-q", "--allow-empty", "-m", "Later work on main")
    template_sync(project, "update")
    assert template_sync(project, "push") == {"pushed": "false"}
    assert git(project.parent / "remote.git", "rev-parse", "template-sync") == human


def test_a_conflicting_local_edit_is_reported(
    template: Path, project: Path, tmp_path: Path
) -> None:
    editorconfig = project / ".editorconfig"
    editorconfig.write_text(editorconfig.read_text().replace("indent_size = 4", "indent_size = 3"))
    commit_all(project, "We indent by three")
    release_v2(template, "indent_size = 4", "indent_size = 8")
    body = tmp_path / "body.md"
    values = template_sync(project, "update", "--body", str(body))
    assert values["changed"] == "true"
    assert values["conflicts"] == "true"
    text = body.read_text()
    assert "### Conflicts" in text
    assert "- `.editorconfig`" in text
    committed = git(project, "show", "template-sync:.editorconfig")
    assert "<<<<<<< " in committed
    assert "indent_size = 3" in committed
    assert "indent_size = 8" in committed
    assert git(project, "status", "--porcelain") == ""
    assert editorconfig.read_text().count("indent_size = 3") == 1  # main keeps its edit


def test_refuses_a_dirty_tree_and_changes_nothing(project: Path) -> None:
    (project / "README.md").write_text("edited\n")
    result = run(["bash", "scripts/template-sync.sh", "update"], project, check=False)
    assert result.returncode == 1
    assert "the working tree has changes: commit or stash them first" in result.stderr
    assert (project / "README.md").read_text() == "edited\n"
    assert git(project, "branch", "--list", "template-sync") == ""
