"""`copier update` pulls a template change into a project that its owner has changed."""

from __future__ import annotations

from pathlib import Path

import copier

from helpers import BASE_ANSWERS, commit_all, run


def test_update_brings_template_changes_and_keeps_local_edits(
    template: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    data = {**BASE_ANSWERS, "skip_setup": True}
    copier.run_copy(str(template), str(project), data=data, defaults=True, unsafe=True,
                    quiet=True)  # fmt: skip
    assert "_commit: v1" in (project / ".copier-answers.yml").read_text()
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur own notes.\n")
    commit_all(project, "Initial project")

    editorconfig = template / "template" / ".editorconfig"
    editorconfig.write_text(editorconfig.read_text() + "\n[*.sh]\nindent_size = 2\n")
    commit_all(template, "v2: shell scripts use two spaces")
    run(["git", "tag", "v2"], template)

    copier.run_update(str(project), data={"skip_setup": True}, defaults=True, unsafe=True,
                      overwrite=True, quiet=True)  # fmt: skip
    assert "_commit: v2" in (project / ".copier-answers.yml").read_text()
    assert "[*.sh]" in (project / ".editorconfig").read_text()
    assert "Our own notes." in readme.read_text()
    assert not list(project.rglob("*.rej"))
