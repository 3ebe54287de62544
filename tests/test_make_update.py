"""`make template-update`: the project's pinned copier pulls a new template release."""

from __future__ import annotations

import pytest

from project import TemplateRepo

pytestmark = pytest.mark.slow


def test_template_update_pulls_a_new_template_release(template: TemplateRepo) -> None:
    project = template.renderer.render()
    project.make("setup")
    project.commit("Initial project")
    template.release(
        "v2", ".editorconfig", "indent_style = tab", "indent_style = tab\n\n[*.sh]\nindent_size = 2"
    )

    project.make("template-update", "COPIER_ARGS=--defaults")
    assert project.answers["_commit"] == "v2"
    assert "[*.sh]" in (project.path / ".editorconfig").read_text()
    project.make("check")
