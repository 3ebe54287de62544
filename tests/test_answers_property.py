"""Any answer to a free-text question renders a sound project, or is refused and writes nothing.

Hypothesis generates answer sets for every free-text question, valid-looking and hostile
(quotes, `$(...)`, backticks, backslashes, line breaks, control characters, bytes that are not
UTF-8, any Unicode, very long text). Each is rendered with copier's API into a folder that
already holds a file of the user's. Then either copier refused it, with the validator's message,
on an answer that breaks a documented rule, and the folder is byte-identical; or every answer
keeps every rule, and the render is sound: TOML, YAML and JSON parse and give the answers back,
Python compiles, shell scripts pass `bash -n`, `make -n help` works, no line ends in whitespace,
nothing outside the destination changed, and no command hidden in an answer ran.

The examples are derandomized (the same on every run) and bounded, so this fits in `make test`;
every failure it found is also a plain case in test_validators.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from helpers import ROOT, clean_env, copy_template, dev_tool, load_extension
from project import FREE_TEXT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Hypothesis keeps its caches (Unicode tables) with the other tools' caches, not in the tree.
set_hypothesis_home_dir(ROOT / ".cache" / "hypothesis")

context = load_extension()
LIMITS: dict[str, int] = context.ANSWER_LIMITS
RESERVED_PACKAGES = set(context.reserved_package_names())
RESERVED_PROJECTS = set(context.reserved_project_names())

# Each example answers every free-text question (FREE_TEXT), so that no default derived from
# another answer is involved and each answer can be judged on its own.

# A command that must never run: its file appears if it does.
CANARY = "CANARY"
HOSTILE = [
    '"', "'", "\\", "\\n", "`", f"`touch {CANARY}`", f"$(touch {CANARY})", f"; touch {CANARY}",
    "${HOME}", "$$", "%", "#", ":", ": ", "- ", "[", "]", "{", "}", "{{ 7 * 7 }}", "{% raw %}",
    "'''", '"""', "<b>", "&", "|", "*", "~", "@", ".", "-", "_", " ", "  ", "\n", "\r\n", "\t",
    "\x00", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u2029", "\udcff", "\ud800", "\xa0",
    "\u3000", "\ufeff", "\u200b", "\u202e", "é", "ß", "İ", "日本語", "🚀", "ǅ", "a" * 300,
]  # fmt: skip


def regex(pattern: str) -> st.SearchStrategy[str]:
    """Strings that `pattern` matches whole."""
    return st.from_regex(pattern, fullmatch=True)


def one_line(max_size: int) -> st.SearchStrategy[str]:
    """Any one line of Unicode text, without spaces at either end."""
    first = st.characters(exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"))
    rest = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=max_size)
    return st.tuples(first, rest).map(lambda parts: (parts[0] + parts[1]).rstrip())


# What each question documents as valid (docs/questions.md), as generators of such answers.
VALID: dict[str, st.SearchStrategy[str]] = {
    "project_name": regex(r"[A-Z][a-z]{1,8}( [A-Za-z0-9][a-z0-9._-]{0,6}){0,3}"),
    "project_slug": regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6}){0,3}"),
    "package_name": regex(r"[a-z][a-z0-9_]{0,12}"),
    "description": one_line(60),
    "author_name": one_line(40),
    "author_email": regex(r"[a-z0-9._%+-]{1,12}@[a-z0-9-]{1,10}(\.[a-z0-9-]{1,8})?\.[a-z]{2,4}"),
    "github_owner": regex(r"[A-Za-z0-9]{1,10}(-[A-Za-z0-9]{1,8}){0,2}"),
}

# Any text at all, surrogates (bytes that are not UTF-8) and control characters included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=6)
HOSTILE_TEXT: st.SearchStrategy[str] = st.lists(
    st.one_of(st.sampled_from(HOSTILE), ANY_TEXT), min_size=1, max_size=5
).map("".join)

# What slips past a careless check at either end of an answer: line breaks, spaces, control
# characters, a byte that is not UTF-8 (a lone surrogate, as Python decodes it).
EDGES = ["\n", "\r\n", "\r", " ", "\t", "\x00", "\x1b", "\x85", "\u2028", "\u2029", "\udcff"]
# Lengths around every limit (tests/test_validators.py pins them).
LENGTHS = sorted({n for limit in LIMITS.values() for n in (limit, limit + 1)} | {300})


def spoiled(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid-looking answer spoiled: at an end, inside, or stretched to a limit and past it."""

    def inside(parts: tuple[str, str, int]) -> str:
        answer, extra, where = parts
        cut = len(answer) // 2
        return [extra + answer, answer + extra, answer[:cut] + extra + answer[cut:]][where]

    def stretched(parts: tuple[str, int]) -> str:
        answer, length = parts
        return (answer * length)[:length]

    # Quotes, `$(...)`, backticks and the like that one line of text may hold: rendered.
    printable = st.sampled_from([text for text in HOSTILE if text_is_one_clean_line(f"x{text}x")])
    anything = st.one_of(st.sampled_from(HOSTILE), HOSTILE_TEXT)
    where = st.integers(0, 2)
    return st.one_of(
        st.tuples(valid, printable, where).map(inside),
        st.tuples(valid, st.sampled_from(EDGES)).map("".join),
        st.tuples(st.sampled_from(EDGES), valid).map("".join),
        st.tuples(valid, anything, where).map(inside),
        st.tuples(valid, st.sampled_from(LENGTHS)).map(stretched),
    )


@st.composite
def answer_sets(draw: st.DrawFn) -> dict[str, str]:
    """Valid-looking answers to every question, most often one of them spoiled or hostile.

    One at a time, each fault meets the validators alone. The free text of description and
    author_name, where most hostile text is allowed and rendered, is chosen twice as often.
    """
    answers = {question: draw(VALID[question]) for question in FREE_TEXT}
    weighted = ["description", "author_name", *FREE_TEXT]
    count = draw(st.sampled_from([1, 1, 1, 2, 0]))
    chosen = st.lists(st.sampled_from(weighted), min_size=count, max_size=count, unique=True)
    for question in draw(chosen):
        answers[question] = draw(st.one_of(spoiled(VALID[question]), HOSTILE_TEXT))
    return answers


ANSWERS = answer_sets()


@st.composite
def one_spoiled(draw: st.DrawFn) -> tuple[dict[str, str], str]:
    """Valid-looking answers but one, which breaks a rule at an end or by its length."""
    answers = {question: draw(VALID[question]) for question in FREE_TEXT}
    question = draw(st.sampled_from(FREE_TEXT))
    answer = answers[question]
    edge = draw(st.sampled_from(EDGES))
    too_long = [n for n in LENGTHS if n > LIMITS.get(question, sys.maxsize)]
    spoil = [answer + edge, edge + answer]
    if too_long:
        spoil.append((answer * too_long[-1])[: draw(st.sampled_from(too_long))])
    answers[question] = draw(st.sampled_from(spoil))
    return answers, question


def text_is_one_clean_line(value: str) -> bool:
    """UTF-8 text on one line, no control characters, no spaces at either end."""
    categories = {unicodedata.category(char) for char in value}
    return not categories & {"Cs", "Cc", "Zl", "Zp"} and value == value.strip()


def accepted(question: str, value: str) -> bool:
    """The documented rule of `question` (docs/questions.md), written apart from copier.yml."""
    if not text_is_one_clean_line(value) or len(value) > LIMITS.get(question, sys.maxsize):
        return False
    if question == "project_name":
        return re.fullmatch(r"[A-Za-z]([A-Za-z0-9 ._-]*[A-Za-z0-9._-])?", value) is not None
    if question == "project_slug":
        pattern = r"[a-z][a-z0-9]*(-[a-z0-9]+)*"
        return re.fullmatch(pattern, value) is not None and value not in RESERVED_PROJECTS
    if question == "package_name":
        pattern = r"[a-z][a-z0-9_]*"
        return re.fullmatch(pattern, value) is not None and value not in RESERVED_PACKAGES
    if question == "author_email":
        pattern = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}"
        return re.fullmatch(pattern, value) is not None
    if question == "github_owner":
        return re.fullmatch(r"[A-Za-z0-9](-?[A-Za-z0-9])*", value) is not None
    return bool(value)  # description, author_name: any clean line


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` and its bytes (folders as empty entries)."""
    return {
        str(path.relative_to(folder)): b"" if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as a plain folder: rendered twice as fast as the repository at HEAD."""
    return copy_template(tmp_path_factory.mktemp("template") / "template")


def render(template: Path, answers: dict[str, str], dest: Path) -> str | None:
    """Render into `dest`; return copier's refusal, or None when it rendered."""
    data = {**answers, "skip_setup": True}
    try:
        copier.run_copy(str(template), str(dest), data=data, defaults=True, unsafe=True,
                        skip_tasks=True, quiet=True)  # fmt: skip
    except ValueError as error:
        if str(error).startswith("Validation error for question '"):
            return str(error)
        raise
    return None


def assert_sound(project: Path, answers: dict[str, str], docker: bool) -> None:
    """The rendered project parses, compiles and runs `make -n help`, with the answers in it."""
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        name = str(path.relative_to(project))
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in {".yml", ".yaml"}:
            list(yaml.safe_load_all(text))
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".py":
            compile(text, name, "exec")
        elif path.suffix == ".sh" or text.startswith("#!/usr/bin/env bash"):
            checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
            assert checked.returncode == 0, f"{name}: {checked.stderr}"
        trailing = [n for n, line in enumerate(text.splitlines(), 1) if line != line.rstrip()]
        assert not trailing, f"{name}: whitespace at the end of lines {trailing}"

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert pyproject["name"] == answers["project_slug"]
    assert pyproject["description"] == answers["description"]
    author = {"name": answers["author_name"], "email": answers["author_email"]}
    assert pyproject["authors"] == [author]
    assert (project / "src" / answers["package_name"] / "__init__.py").is_file()
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert {question: recorded[question] for question in FREE_TEXT} == answers

    make = subprocess.run(["make", "-n", "help"], cwd=project, env=clean_env(),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)  # fmt: skip
    assert make.returncode == 0, make.stderr
    if docker:
        hadolint = subprocess.run([dev_tool("hadolint"), "Dockerfile"], cwd=project,
                                  capture_output=True, text=True)  # fmt: skip
        assert hadolint.returncode == 0, hadolint.stdout + hadolint.stderr


def check(template: Path, drawn: dict[str, str], variant: dict[str, Any], docker: bool) -> None:
    """Render one answer set into an existing folder and judge the outcome."""
    answers = drawn
    wrong = [question for question in FREE_TEXT if not accepted(question, answers[question])]
    note(f"answers: {answers!r}; breaking a rule: {wrong}")
    with tempfile.TemporaryDirectory(prefix="answers-") as tmp:
        sandbox = Path(tmp)
        (sandbox / "beside.txt").write_text("not the project's\n")
        dest = sandbox / "project"
        dest.mkdir()
        (dest / "notes.txt").write_text("mine\n")
        before = snapshot(sandbox)

        refusal = render(template, {**answers, **variant}, dest)

        if refusal is not None:
            event(f"refused: {refusal.split(chr(39))[1]}")
            assert wrong, f"valid answers refused: {refusal}"
            blamed = refusal.removeprefix("Validation error for question '")
            question, message = blamed.split("': ", 1)
            assert question in wrong, f"{question} blamed, but the wrong answers are {wrong}"
            assert message.strip(), "a refusal without a message"
            assert snapshot(sandbox) == before, "a refused answer changed files"
        else:
            event("rendered")
            assert not wrong, f"answers breaking the rules of {wrong} were rendered"
            assert_sound(dest, answers, docker)
            after = snapshot(sandbox)
            outside = {k: v for k, v in after.items() if not k.startswith("project")}
            assert outside == {k: v for k, v in before.items() if not k.startswith("project")}
            assert after["project/notes.txt"] == b"mine\n"
        leaks = [p for p in (ROOT / CANARY, Path.cwd() / CANARY) if p.exists()]
        leaks += list(sandbox.rglob(CANARY))
        assert not leaks, f"a command in an answer ran: {CANARY} appeared in {leaks}"


PROPERTY = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@settings(PROPERTY, max_examples=60)
@given(case=one_spoiled())
def test_an_answer_spoiled_at_an_end_or_by_length_is_refused(
    template: Path, case: tuple[dict[str, str], str]
) -> None:
    """Cheap (nothing renders when all is well), so many: each spoiled answer meets its own
    question's validator, which refuses it with a message, leaving the folder as it was."""
    answers, question = case
    assert not accepted(question, answers[question])
    check(template, answers, {"project_type": "library"}, docker=False)


@pytest.mark.slow
@settings(PROPERTY, max_examples=40)
@given(drawn=ANSWERS)
def test_library_renders_sound_or_refuses(template: Path, drawn: dict[str, str]) -> None:
    """The library without Docker: the most examples, as it renders fastest."""
    check(template, drawn, {"project_type": "library"}, docker=False)


@pytest.mark.slow
@settings(PROPERTY, max_examples=8)
@given(drawn=ANSWERS)
def test_service_with_docker_renders_sound_or_refuses(
    template: Path, drawn: dict[str, str]
) -> None:
    """The defaults (every service, Docker): a handful, with hadolint on the Dockerfile."""
    check(template, drawn, {}, docker=True)
