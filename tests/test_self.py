"""The template's own code meets the bar it sets for rendered projects: `make lint` passes."""

from __future__ import annotations

import re

from helpers import ROOT, run


def test_make_lint_passes_on_the_code_and_every_rendered_script() -> None:
    out = run(["make", "lint"], ROOT).stdout
    for tool in ("ruff check", "ruff format --check", "mypy", "bandit", "shellcheck .ci/run"):
        assert f".venv/bin/{tool}" in out
    # Scripts with Jinja in them are checked as rendered: every template shell script is among
    # them (the Python ones are linted by the rendered projects' make check).
    scripts = {
        re.sub(r"\{%.*?%\}", "", path.name).removesuffix(".jinja")
        for path in (ROOT / "template" / "scripts").iterdir()
    }
    scripts = {name for name in scripts if name.endswith(".sh")}
    assert len(scripts) == 3  # setup.sh, doctor.sh, auto-sync.sh (the shim for old cron lines)
    assert scripts == {path.name for path in (ROOT / ".cache/lint/project/scripts").glob("*.sh")}
