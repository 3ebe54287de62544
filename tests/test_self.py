"""The template's own code meets the bar it sets for rendered projects: `make lint` passes."""

from __future__ import annotations

import re

from helpers import ROOT, run


def test_make_lint_passes_on_the_code_and_every_rendered_script() -> None:
    out = run(["make", "lint"], ROOT).stdout
    for tool in ("ruff check", "ruff format --check", "mypy", "bandit", "shellcheck .ci/run"):
        assert f".venv/bin/{tool}" in out
    # Scripts with Jinja in them are checked as rendered: every template script is among them.
    scripts = {
        re.sub(r"\{%.*?%\}", "", path.name).removesuffix(".jinja")
        for path in (ROOT / "template" / "scripts").iterdir()
    }
    assert len(scripts) == 4
    assert scripts == {path.name for path in (ROOT / ".cache/lint/project/scripts").glob("*.sh")}
