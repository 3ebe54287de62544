"""`make template-status` and `make template-update`: the project's pinned copier pulls a new
template release; what is left to resolve fails the update and `make check`."""

from __future__ import annotations

import pytest

from helpers import output
from project import TemplateRepo

pytestmark = pytest.mark.slow


def test_template_update_pulls_a_release_and_conflicts_fail_until_resolved(
    template: TemplateRepo,
) -> None:
    project = template.renderer.render("library")
    project.make("setup")
    editorconfig = project.path / ".editorconfig"
    editorconfig.write_text(editorconfig.read_text().replace("indent_size = 4", "indent_size = 3"))
    project.commit("Initial project, indented by three")
    assert project.make("template-status").stdout.strip() == "template at 1: no newer release"

    template.release("v2", ".editorconfig", "indent_size = 4", "indent_size = 8")
    template.release("v3", ".editorconfig", "indent_style = tab", "indent_style = tab\n\n[*.sh]")
    assert project.make("template-status").stdout.strip() == "template at 1: 3 is out"

    result = project.make("template-update", "COPIER_ARGS=--defaults", check=False)
    assert result.returncode != 0
    assert "template-update: conflict: .editorconfig" in result.stderr, output(result)
    assert project.answers["_commit"] == "v3"
    text = editorconfig.read_text()
    assert "[*.sh]" in text
    assert "<<<<<<< before updating" in text
    assert "indent_size = 3" in text
    assert "indent_size = 8" in text
    assert not (project.path / "uv.lock").read_text().count("<<<<<<<")
    # make check's first gate, and the pre-commit hook, fail on the markers ...
    check = project.make("check", check=False)
    assert check.returncode != 0
    assert ".editorconfig: conflict left by a template update or merge" in check.stderr
    # ... until they are resolved.
    kept = [line for line in text.splitlines(keepends=True) if not line.startswith(("<", "=", ">"))]
    editorconfig.write_text("".join(kept).replace("indent_size = 8\n", ""))
    project.make("check")
    project.commit("Update the template to v3")
    assert project.make("template-status").stdout.strip() == "template at 3: no newer release"
