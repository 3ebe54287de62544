"""scripts/template-sync.sh (what the template-sync workflow runs) against a local template
repository with two tagged versions, and a local bare remote standing in for GitHub."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import commit_all, git, run
from project import Project, TemplateRepo

pytestmark = pytest.mark.slow


def template_sync(project: Project, *args: str, outputs: Path | None = None) -> dict[str, str]:
    """Run the script; return the key=value lines it printed (checked against $GITHUB_OUTPUT)."""
    env = {"GITHUB_OUTPUT": str(outputs)} if outputs else {}
    out = project.run(["bash", "scripts/template-sync.sh", *args], env=env).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if outputs is not None:
        assert outputs.read_text() == out
        outputs.unlink()
    return values


@pytest.fixture
def project(template: TemplateRepo, tmp_path: Path) -> Project:
    """A project rendered from template v1, set up, committed, with an `origin` remote."""
    made = template.renderer.render()
    made.make("setup")
    made.commit("Initial project")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    made.git("remote", "add", "origin", str(remote))
    made.git("push", "-q", "origin", "main")
    return made


# v2 of the template, as each test releases it.
WIDER = ("indent_size = 4", "indent_size = 4\nmax_line_length = 100")


def test_no_release_no_commit_then_a_release_becomes_one_pushed_commit(
    template: TemplateRepo, project: Project, tmp_path: Path
) -> None:
    main = project.git("rev-parse", "HEAD")
    outputs = tmp_path / "github-output"
    values = template_sync(project, "update", outputs=outputs)
    assert values["changed"] == "false"
    assert values["from"] == values["to"] == "v1"
    assert project.git("branch", "--list", "template-sync") == ""
    assert project.git("rev-parse", "HEAD") == main
    assert project.git("status", "--porcelain") == ""

    template.release("v2", ".editorconfig", *WIDER)
    body = tmp_path / "body.md"
    values = template_sync(project, "update", "--body", str(body), outputs=outputs)
    assert values == {
        "changed": "true", "conflicts": "false", "from": "v1", "to": "v2", "base": "main",
        "branch": "template-sync", "body": str(body),
    }  # fmt: skip
    # main and the working tree are untouched; the update is one commit on template-sync.
    assert project.git("symbolic-ref", "--short", "HEAD") == "main"
    assert project.git("rev-parse", "HEAD") == main
    assert project.git("status", "--porcelain") == ""
    assert project.git("rev-parse", "template-sync^") == main
    changed = project.git("diff", "--name-only", "main", "template-sync").split()
    assert ".editorconfig" in changed
    assert ".copier-answers.yml" in changed
    assert "max_line_length = 100" in project.git("show", "template-sync:.editorconfig")
    assert "from template `v1` to `v2`" in body.read_text()
    assert "### Conflicts" not in body.read_text()
    author = project.git("log", "-1", "--format=%an <%ae>", "template-sync")
    assert author == "template-sync[bot] <template-sync@users.noreply.github.com>"

    remote = tmp_path / "remote.git"
    assert template_sync(project, "push") == {"pushed": "true"}
    assert git(remote, "rev-parse", "template-sync") == project.git("rev-parse", "template-sync")
    # The next scheduled run finds the same update: nothing new to push.
    template_sync(project, "update", "--body", str(body))
    assert template_sync(project, "push") == {"pushed": "false"}


def test_commits_added_by_hand_to_the_branch_are_never_overwritten(
    template: TemplateRepo, project: Project, tmp_path: Path
) -> None:
    template.release("v2", ".editorconfig", *WIDER)
    template_sync(project, "update")
    template_sync(project, "push")
    # Someone fixes something on the pull request's branch.
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", "-b", "template-sync", str(tmp_path / "remote.git"),
         str(clone)], tmp_path)  # fmt: skip
    (clone / "NOTES.md").write_text("reviewed\n")
    commit_all(clone, "Review notes")
    git(clone, "push", "-q", "origin", "template-sync")
    human = git(clone, "rev-parse", "HEAD")

    project.git("commit", "-q", "--allow-empty", "-m", "Later work on main")
    template_sync(project, "update")
    assert template_sync(project, "push") == {"pushed": "false"}
    assert git(tmp_path / "remote.git", "rev-parse", "template-sync") == human


def test_a_conflicting_local_edit_is_reported(
    template: TemplateRepo, project: Project, tmp_path: Path
) -> None:
    editorconfig = project.path / ".editorconfig"
    editorconfig.write_text(editorconfig.read_text().replace("indent_size = 4", "indent_size = 3"))
    project.commit("We indent by three")
    template.release("v2", ".editorconfig", "indent_size = 4", "indent_size = 8")
    body = tmp_path / "body.md"
    values = template_sync(project, "update", "--body", str(body))
    assert values["changed"] == "true"
    assert values["conflicts"] == "true"
    text = body.read_text()
    assert "### Conflicts" in text
    assert "- `.editorconfig`" in text
    committed = project.git("show", "template-sync:.editorconfig")
    assert "<<<<<<< " in committed
    assert "indent_size = 3" in committed
    assert "indent_size = 8" in committed
    assert project.git("status", "--porcelain") == ""
    assert editorconfig.read_text().count("indent_size = 3") == 1  # main keeps its edit


def test_refuses_a_dirty_tree_and_changes_nothing(project: Project) -> None:
    (project.path / "README.md").write_text("edited\n")
    result = project.run(["bash", "scripts/template-sync.sh", "update"], check=False)
    assert result.returncode == 1
    assert "the working tree has changes: commit or stash them first" in result.stderr
    assert (project.path / "README.md").read_text() == "edited\n"
    assert project.git("branch", "--list", "template-sync") == ""
