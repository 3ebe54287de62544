"""Every validator rejects bad input with an actionable message, and writes nothing.

The cases marked "found by" are what tests/test_answers_property.py found, pinned here.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
from pytest_copie.plugin import Copie

from helpers import ROOT, clean_env, commit_all, dev_tool, load_extension, output, run
from project import BASE_ANSWERS, FREE_TEXT, Project, Renderer
from releases import clone_template

context = load_extension()
LIMITS: dict[str, int] = context.ANSWER_LIMITS
# A valid answer to each, to spoil one at a time.
GOOD = {
    **BASE_ANSWERS,
    "project_slug": "acme-billing",
    "package_name": "acme_billing",
    "description": "Billing for Acme.",
}

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
    # docs/conf.py's module name for mypy: `make check` would fail on the first render.
    ({"package_name": "conf"}, "names a module the project has outside src/ (docs/conf.py"),
    ({"description": "   "}, "Write a short description"),
    ({"description": "two\nlines"}, "without control characters"),
    ({"description": "line\u2028separator"}, "without control characters"),
    ({"description": "next\x85line"}, "without control characters"),
    ({"author_name": "Ada\u2029Lovelace"}, "without control characters"),
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
    # Spaces at either end: the project's trailing-whitespace hook fails the first commit on
    # the README or LICENSE line (found by the property test: description "0 ").
    ({"description": "Billing for Acme. "}, "Remove the spaces at the start and end"),
    ({"author_name": " Ada Lovelace"}, "Remove the spaces at the start and end"),
    ({"project_name": "Acme "}, "Remove the spaces at the start and end"),
    # The standard library of every Python a project may run on, not only copier's.
    ({"package_name": "test"}, "standard-library module (of any Python from 3.10 on)"),
    ({"package_name": "compression"}, "standard-library module"),  # 3.14
    ({"package_name": "annotationlib"}, "standard-library module"),  # 3.14
    ({"package_name": "distutils"}, "standard-library module"),  # 3.10 and 3.11
    ({"package_name": "idlelib"}, "standard-library module"),
    # Each limit has its own message, on the question that breaks it.
    (
        {"project_name": "A" * 300},
        f"Keep the name to {LIMITS['project_name']} characters or fewer (it has 300)",
    ),
    (
        {"project_name": "A" * (LIMITS["project_name"] + 1)},
        f"Keep the name to {LIMITS['project_name']} characters or fewer "
        f"(it has {LIMITS['project_name'] + 1})",
    ),
    (
        {"project_slug": "a" * (LIMITS["project_slug"] + 1)},
        f"Keep it to {LIMITS['project_slug']} characters or fewer "
        f"(it has {LIMITS['project_slug'] + 1})",
    ),
    (
        {"package_name": "a" * (LIMITS["package_name"] + 1)},
        f"Keep it to {LIMITS['package_name']} characters or fewer "
        f"(it has {LIMITS['package_name'] + 1})",
    ),
    # A package name of one word longer than the limit: no word boundary to cut at.
    (
        {"project_name": "A" * (LIMITS["package_name"] + 1)},
        "with a long project name, give -d package_name=",
    ),
    ({"description": "x" * 201}, "Keep it to 200 characters or fewer (it has 201)"),
    ({"author_email": "a" * 250 + "@example.com"}, "254 characters or fewer (it has 262)"),
    # GitHub's rules for an account name.
    ({"github_owner": "-acme"}, "not starting or ending with a hyphen"),
    ({"github_owner": "acme-"}, "not starting or ending with a hyphen"),
    ({"github_owner": "ac--me"}, "single hyphens"),
    ({"github_owner": "acme_corp"}, "letters, digits and single hyphens"),
    ({"github_owner": "a" * 40}, "39 characters or fewer (this has 40)"),
    # What a library does not have, as a default (copier's settings file, the API's
    # user_defaults, as here): copier renders with it unvalidated, so auto_sync refuses it.
    ({"project_type": "library", "python_min_version": "3.10", "use_docker": True},
     "A library has no container files or backing services"),
    ({"project_type": "library", "python_min_version": "3.10", "services": ["redis"]},
     "A library has no container files or backing services"),
    ({"project_type": "library", "python_min_version": "3.10", "use_kubernetes": True},
     "A library has no container files or backing services"),
    ({"use_docker": False, "use_kubernetes": True},
     "The Kubernetes manifests need use_docker and PostgreSQL in services"),
    ({"services": ["redis"], "use_kubernetes": True},
     "The Kubernetes manifests need use_docker and PostgreSQL in services"),
    # No number: the validator's message, not int()'s "invalid literal".
    ({"sync_interval_hours": "abc"}, "Pick a number of hours that divides 24"),
    ({"sync_interval_hours": "3.5"}, "Pick a number of hours that divides 24"),
    ({"sync_interval_hours": "true"}, "Pick a number of hours that divides 24"),
    ({"sync_interval_hours": "[6]"}, "Pick a number of hours that divides 24"),
]  # fmt: skip

# Answers given as data (`-d`, the API's data): copier applies and validates them even for a
# question it does not ask (when: false), so the question itself refuses them.
GIVEN_BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"project_type": "library", "python_min_version": "3.10", "use_docker": True},
     "use_docker", "A library has no container files: leave use_docker out"),
    ({"project_type": "library", "python_min_version": "3.10", "services": ["redis"]},
     "services", "A library has no backing services: leave services out"),
    ({"project_type": "library", "python_min_version": "3.10", "use_kubernetes": True},
     "use_kubernetes", "A library has no Kubernetes manifests: leave use_kubernetes out"),
    ({"use_docker": False, "use_kubernetes": True},
     "use_kubernetes", "The Kubernetes manifests run the project's image: answer use_docker=true"),
    ({"services": ["redis"], "use_kubernetes": True},
     "use_kubernetes", "The Kubernetes manifests need PostgreSQL (every pod shares one database"),
    ({"sync_interval_hours": "abc"}, "sync_interval_hours", "divides 24: 1, 2, 3, 4, 6, 8, 12"),
    # Checked even when auto_sync is off.
    ({"auto_sync": False, "sync_interval_hours": 5}, "sync_interval_hours", "divides 24"),
]  # fmt: skip

# What slips past `$` or a character class: a line break at the end, Unicode's line breaks,
# control characters; and bytes that are not UTF-8 (a lone surrogate, as Python decodes them).
SPOILERS = {
    "newline": ("\n", "without control characters"),
    "crlf": ("\r\n", "without control characters"),
    "nel": ("\x85", "without control characters"),
    "line-separator": ("\u2028", "without control characters"),
    "paragraph-separator": ("\u2029", "without control characters"),
    "escape": ("\x1b[31m", "without control characters"),
    "not-utf8": ("\udcff", "bytes that are not UTF-8 text"),
}
SPOILED = [
    pytest.param(question, text, message, id=f"{question}-{name}")
    for question in FREE_TEXT
    for name, (text, message) in SPOILERS.items()
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


@pytest.mark.parametrize(("question", "text", "message"), SPOILED)
def test_a_spoiled_answer_is_refused_with_a_message(
    question: str, text: str, message: str, tmp_path: Path
) -> None:
    """Each free-text answer with a trailing line break, control character or non-UTF-8 byte."""
    dest = tmp_path / "project"
    answers = {**GOOD, question: GOOD[question] + text, "skip_setup": True}
    with pytest.raises(ValueError, match="Validation error") as error:
        copier.run_copy(str(ROOT), str(dest), data=answers, defaults=True, unsafe=True,
                        vcs_ref="HEAD", quiet=True, skip_tasks=True)  # fmt: skip
    assert f"question '{question}'" in str(error.value)
    assert message in str(error.value)
    assert not dest.exists()


@pytest.mark.parametrize(
    ("answers", "question", "message"), GIVEN_BAD, ids=[q for _, q, _ in GIVEN_BAD]
)
def test_a_given_answer_is_refused_by_its_question(
    answers: dict[str, Any], question: str, message: str, tmp_path: Path
) -> None:
    dest = tmp_path / "project"
    with pytest.raises(ValueError, match=f"Validation error for question '{question}'") as error:
        copier.run_copy(str(ROOT), str(dest), data={**GOOD, **answers, "skip_setup": True},
                        defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)  # fmt: skip
    assert message in str(error.value)
    assert not dest.exists()


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


def test_every_limit_renders_a_project_that_passes_ruff(tmp_path: Path) -> None:
    """Answers at their limits, and short ones: the generated code fits the project's 100
    columns and is laid out as ruff format lays it out whatever the names' lengths (make
    check's ruff check and ruff format), so a limit is never higher than the template allows."""
    at_limit = {
        "project_name": "A" * LIMITS["project_name"],
        "project_slug": "a" * LIMITS["project_slug"],
        "package_name": "a" * LIMITS["package_name"],
        "description": "x" * LIMITS["description"],
        "author_email": "a" * (LIMITS["author_email"] - len("@example.com")) + "@example.com",
        "github_owner": "a" * LIMITS["github_owner"],
    }
    short = {"project_name": "Ab", "project_slug": "ab", "package_name": "x1", "github_owner": "g"}
    cases: dict[str, dict[str, Any]] = {
        "service": at_limit,
        "service-no-services": {**at_limit, "services": []},
        "library": {**at_limit, "project_type": "library"},
        "service-short-names": short,
    }
    for name, answers in cases.items():
        dest = tmp_path / name
        data = {**GOOD, **answers, "skip_setup": True}
        copier.run_copy(str(ROOT), str(dest), data=data, defaults=True, unsafe=True,
                        vcs_ref="HEAD", quiet=True, skip_tasks=True)  # fmt: skip
        ruff = dev_tool("ruff")
        for command in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
            result = run([ruff, *command], dest, check=False)
            assert result.returncode == 0, f"{name}: ruff {command[0]}\n{output(result)}"


def test_the_default_github_owner_of_a_long_slug_is_an_account_name(
    render: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default (the slug) is cut to GitHub's 39 characters, without a hyphen at the end."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")  # no github.user of this machine's
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    slug = "acme-" + "b" * 33 + "-c" + "d" * 10
    base = {name: value for name, value in BASE_ANSWERS.items() if name != "github_owner"}
    project = render(base=base, project_slug=slug, package_name="acme")
    assert project.answers["github_owner"] == slug[:38]


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("Customer Relationship Management Platform", "customer_relationship_management"),
        ("Acme Billing Platform For Enterprise Customers", "acme_billing_platform_for_enterprise"),
        ("Acme Billing Platform", "acme_billing_platform"),
    ],
)
def test_the_default_package_name_of_a_long_name_is_cut_at_a_word(
    name: str, package: str, render: Renderer
) -> None:
    """Every project name that fits gives a default package name that fits (found by review)."""
    assert render("library", project_name=name).answers["package_name"] == package
    assert len(package) <= LIMITS["package_name"]


def test_a_library_ignores_what_it_is_not_asked_when_given_as_no(render: Renderer) -> None:
    """`use_docker=false` and no services are what a library has: accepted, not recorded."""
    project = render("library", use_docker=False, services=[])
    assert "use_docker" not in project.answers
    assert "services" not in project.answers
    assert not (project.path / "Dockerfile").exists()


def test_a_number_of_hours_given_as_text_is_recorded_as_a_number(render: Renderer) -> None:
    """`-d sync_interval_hours=6` arrives as text: it is recorded as the number, as before."""
    assert render(sync_interval_hours="6").answers["sync_interval_hours"] == 6


STDLIB_OF = """
import json, pkgutil, sys, sysconfig
names = {n for n in sys.stdlib_module_names if not n.startswith("_")}
folder = {m.name for m in pkgutil.iter_modules([sysconfig.get_paths()["stdlib"]])}
print(json.dumps(sorted(names | {n for n in folder if not n.startswith("_")})))
"""


def interpreters() -> list[str]:
    """The running Python, every CPython 3.10+ that pyenv has installed here, and each
    python3.1X on PATH (as actions/setup-python puts them on GitHub's runners)."""
    home = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = {str(path) for path in home.glob("versions/3.1[0-9]*/bin/python3")}
    on_path = (shutil.which(f"python3.{minor}") for minor in range(10, 20))
    found |= {path for path in on_path if path and ".pyenv" not in path}  # pyenv's: above
    return [sys.executable, *sorted(found)]


@pytest.mark.parametrize("python", interpreters())
def test_reserved_names_hold_the_standard_library_of_every_python(python: str) -> None:
    """The frozen list holds each interpreter's stdlib modules, and the top-level packages of
    its stdlib folder that sys.stdlib_module_names leaves out (such as `test`)."""
    result = subprocess.run([python, "-c", STDLIB_OF], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"{python} does not run here: {result.stderr.strip()[-200:]}")
    names = set(json.loads(result.stdout))
    assert names - context.STDLIB_MODULE_NAMES == set()


def test_reserved_names_hold_what_python_3_14_adds() -> None:
    """3.14's new top-level modules, reserved whichever Python runs copier."""
    assert {"annotationlib", "compression", "test"} <= set(context.reserved_package_names())


def contents(folder: Path) -> dict[str, bytes]:
    """Every file and folder under `folder`, with the bytes of each file."""
    return {
        str(path.relative_to(folder)): path.read_bytes() if path.is_file() else b""
        for path in folder.rglob("*")
    }


def test_not_utf8_bytes_leave_an_existing_folder_byte_identical(tmp_path: Path) -> None:
    """`-d description=$'\\xff'` from a shell: refused with a message, nothing written."""
    dest = tmp_path / "existing"
    dest.mkdir()
    (dest / "notes.txt").write_bytes(b"mine\n")
    (dest / "src").mkdir()
    (dest / "src" / "keep.py").write_bytes(b"x = 1\n")
    before = contents(dest)
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref=HEAD",
               "-d", "project_name=Acme", "-d", "skip_setup=true"]  # fmt: skip
    arguments = [os.fsencode(arg) for arg in command]
    arguments += [b"-d", b"description=Billing \xff", os.fsencode(ROOT), os.fsencode(dest)]
    result = subprocess.run(arguments, cwd=tmp_path, env=clean_env(), capture_output=True,
                            check=False)  # fmt: skip
    said = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode != 0
    assert "holds bytes that are not UTF-8 text" in said
    assert "UnicodeEncodeError" not in said
    assert contents(dest) == before


@pytest.mark.parametrize("folder", ["a b", "it's here", "d$(touch CANARY)x"])
def test_the_message_after_copy_quotes_the_path(folder: str, tmp_path: Path) -> None:
    """The `cd` line it prints is one shell word: pasted into a shell, it enters the project."""
    dest = tmp_path / folder
    result = run([sys.executable, "-m", "copier", "copy", "--trust", "--defaults",
                  "--skip-tasks", "--vcs-ref=HEAD", "-d", "project_name=Acme",
                  "-d", "skip_setup=true", str(ROOT), str(dest)], tmp_path)  # fmt: skip
    said = output(result)
    assert f"is ready in {shlex.quote(str(dest))}." in said
    cd = next(line.strip() for line in said.splitlines() if line.strip().startswith("cd "))
    assert cd == f"cd {shlex.quote(str(dest))}"
    entered = run(["bash", "-c", f"{cd} && pwd"], tmp_path)
    assert entered.stdout.strip() == str(dest)
    assert not list(tmp_path.rglob("CANARY"))


def test_an_update_from_1_0_0_keeps_a_number_of_hours(
    tmp_path_factory: pytest.TempPathFactory, copie: Copie
) -> None:
    """sync_interval_hours is read as YAML now (int before): a project of release 1.0.0, whose
    answers file holds the number, updates to the working tree and keeps it."""
    history = clone_template(tmp_path_factory.mktemp("history") / "template")
    renderer = Renderer(copie, history)
    project = renderer.render("library", vcs_ref="v1.0.0", sync_interval_hours=6)
    assert project.answers["sync_interval_hours"] == 6
    commit_all(project.path, "Initial project")
    updated: Project = renderer.update(project)
    assert updated.answers["_commit"] != "v1.0.0"
    assert updated.answers["sync_interval_hours"] == 6
    assert "every 6 hour(s)" in (updated.path / "README.md").read_text()


@pytest.mark.parametrize("value", ["acme\n", "acme\r\n", "\nacme", "ac\nme", "acme "])
def test_fullmatch_matches_the_whole_answer(value: str) -> None:
    """`$` would match before a final newline; the filter does not."""
    assert context.fullmatch("acme", "[a-z]+")
    assert not context.fullmatch(value, "[a-z]+")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("Billing \udcff", "not UTF-8"),
        ("two\nlines", "without control characters"),
        ("next\x85line", "without control characters"),
        ("line\u2028separator", "without control characters"),
        ("para\u2029separator", "without control characters"),
        ("bell\x07", "without control characters"),
        ("del\x7f", "without control characters"),
        (" leading", "Remove the spaces"),
        ("trailing\u3000", "Remove the spaces"),
        ("Ünïcödé, 'quotes', $(and) `more` \\ 🚀", ""),
    ],
)
def test_text_problem_says_what_is_wrong(value: str, says: str) -> None:
    problem = context.text_problem(value)
    assert (says in problem) if says else problem == ""


@pytest.mark.parametrize("value", ["/home/a b", "/home/it's", "d$(touch x)x", "`x`", "a\nb", ""])
def test_sh_quote_is_one_shell_word(value: str) -> None:
    assert shlex.split(context.sh_quote(value)) == [value]
