"""Every validator rejects bad input with an actionable message, and writes nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import copier
import pytest

from helpers import ROOT, clean_env, run
from project import BASE_ANSWERS, Renderer

BAD_ANSWERS: list[tuple[dict[str, Any], str]] = [
    ({"project_name": "1st Service"}, "Start with a letter"),
    ({"project_name": "Acme/Billing"}, "Start with a letter"),
    ({"project_slug": "Acme_Billing"}, "lowercase letters, digits and single hyphens"),
    ({"project_slug": "acme-"}, "not ending with a hyphen"),
    ({"project_slug": "acme--billing"}, "single hyphens"),
    ({"project_slug": "pytest"}, "one of the project's own dependencies"),
    ({"project_slug": "pre-commit"}, "uv cannot install a project that depends on its own name"),
    ({"package_name": "acme-billing"}, "lowercase letters, digits and underscores"),
    ({"package_name": "9lives"}, "starting with a letter"),
    ({"package_name": "class"}, "Python keyword"),
    ({"package_name": "logging"}, "standard-library module"),
    ({"package_name": "tests"}, '"tests"'),
    ({"package_name": "mypy"}, "one of the project's own dependencies"),
    ({"package_name": "yaml"}, "one of the project's own dependencies"),
    ({"description": "   "}, "Write a short description"),
    ({"description": "two\nlines"}, "without control characters"),
    ({"description": "line\u2028separator"}, "without control characters"),
    ({"description": "next\x85line"}, "without control characters"),
    ({"author_name": "Ada\u2029Lovelace"}, "without control characters"),
    ({"description": "x" * 201}, "under 200 characters"),
    ({"author_name": ""}, "Give an author or team name"),
    ({"author_email": "not-an-email"}, 'like "name@example.com"'),
    ({"author_email": "a@b"}, 'like "name@example.com"'),
    ({"github_owner": "https://github.com/acme"}, "account name only"),
    ({"python_version": "3.12", "python_min_version": "3.13"}, "cannot be newer"),
    ({"python_min_version": "3.10"}, "A service needs Python 3.11 or newer"),
    ({"services": ["celery"]}, "Celery needs Redis as its broker"),
    ({"sync_interval_hours": 5}, "divides 24"),
    ({"sync_interval_hours": 0}, "divides 24"),
    ({"license": "GPL"}, "'GPL' is not in ['MIT', 'Apache-2.0', 'BSD-3-Clause', 'Proprietary']"),
    ({"python_version": "3.9"}, "'3.9' is not in ['3.11', '3.12', '3.13', '3.14']"),
]


@pytest.mark.parametrize(
    ("answers", "message"), BAD_ANSWERS, ids=[next(iter(a)) for a, _ in BAD_ANSWERS]
)
def test_bad_answer_is_rejected_and_nothing_is_written(
    answers: dict[str, Any], message: str, render: Renderer, copie: Any
) -> None:
    with pytest.raises(ValueError, match=r"Validation error|Invalid choice") as error:
        render(**answers)
    assert message in str(error.value)
    written = [path for path in copie.test_dir.rglob("*") if not path.is_dir()]
    assert not written, "a rejected answer wrote files"


def test_existing_destination_is_left_untouched(tmp_path: Path) -> None:
    """A destination of the user's choosing, with files in it: copier's API, as the CLI uses it."""
    dest = tmp_path / "project"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    data = {**BASE_ANSWERS, "package_name": "json", "skip_setup": True}
    with pytest.raises(ValueError, match="Validation error"):
        copier.run_copy(str(ROOT), str(dest), data=data, defaults=True, unsafe=True,
                        vcs_ref="HEAD", quiet=True)  # fmt: skip
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]
    assert (dest / "notes.txt").read_text() == "mine\n"


def test_cli_shows_the_message_and_fails(tmp_path: Path) -> None:
    dest = tmp_path / "project"
    result = run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            "-d",
            "project_name=Acme",
            "-d",
            "author_email=nobody",
            "-d",
            "skip_setup=true",
            str(ROOT),
            str(dest),
        ],
        tmp_path,
        env=clean_env(),
        check=False,
    )
    assert result.returncode != 0
    assert 'Enter an email address like "name@example.com"' in result.stdout + result.stderr
    assert not dest.exists()


@pytest.mark.parametrize("hours", [1, 2, 3, 4, 6, 8, 12, 24])
def test_every_divisor_of_24_is_accepted(hours: int, render: Renderer) -> None:
    assert render(sync_interval_hours=hours).answers["sync_interval_hours"] == hours
