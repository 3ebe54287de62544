"""The template's own code meets the bar it sets for rendered projects."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers import ROOT, run

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["bandit", "-q", "-r", "hooks", "extensions", "benchmarks"],
        ["shellcheck", "template/scripts/setup.sh", "template/scripts/doctor.sh", ".ci/run"],
    ],
    ids=lambda command: command[0] + (f" {command[1]}" if command[1:2] == ["format"] else ""),
)
def test_tool_passes(command: list[str]) -> None:
    run([str(BIN / command[0]), *command[1:]], ROOT)
