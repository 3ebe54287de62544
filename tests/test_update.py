"""`copier update` pulls a template change into a project that its owner has changed."""

from __future__ import annotations

from project import TemplateRepo


def test_update_brings_template_changes_and_keeps_local_edits(template: TemplateRepo) -> None:
    project = template.renderer.render()
    assert project.answers["_commit"] == "v1"
    readme = project.path / "README.md"
    readme.write_text(readme.read_text() + "\nOur own notes.\n")
    project.commit("Initial project")
    template.release(
        "v2", ".editorconfig", "indent_style = tab", "indent_style = tab\n\n[*.sh]\nindent_size = 2"
    )

    project = template.renderer.update(project)
    assert project.answers["_commit"] == "v2"
    assert "[*.sh]" in (project.path / ".editorconfig").read_text()
    assert "Our own notes." in readme.read_text()
    assert not list(project.path.rglob("*.rej"))
