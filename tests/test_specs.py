"""The rendered specs/ and its check (scripts/check-specs.py, `make specs`, part of `make check`):
the tests each variant's specs name exist, and are tests pytest collects; a name whose file,
class, function or method is missing, in a file pytest does not collect, or that is no node id
(`./tests/`, `test/`, a backslash) fails the check with its file and line, and fails `make
check` with it; URLs, placeholders and code under src/ are no names; specs in a linked folder
are read, once. The services-none spec's claim about adding Redis holds."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import output
from project import Project, Renderer

CHECK = "scripts/check-specs.py"
# What the check says of a word with `.py::` that is no node id, before what to change.
MISSPELT = "not a test's node id: write tests/test_<module>.py::test_<name>"
PASSED = re.compile(r"^specs: all (\d+) tests named in (\d+) files of specs/ exist$")
# A node id as the specs write it, with the id of a parametrized case.
NODE_ID = re.compile(r"`(tests/[^`:]+\.py::[^`]+)`")
# Test classes and functions added to a copy of a render: what pytest collects in classes.
THINGS = """import pytest


class TestBase:
    def test_inherited(self) -> None:
        pass


class TestThing(TestBase):
    if True:
        def test_under_an_if(self) -> None:
            pass

    class TestInner:
        async def test_nested(self) -> None:
            pass


def helper() -> None:
    pass


@pytest.mark.parametrize("n", [1, 2])
def test_numbers(n: int) -> None:
    pass
"""


def check(project: Project) -> subprocess.CompletedProcess[str]:
    """Run the specs check in `project` as make does without .venv (python3)."""
    return project.run(["python3", CHECK], check=False)


def named_tests(project: Project) -> list[str]:
    """The node ids the project's specs name, in order."""
    return [
        node_id
        for spec in sorted((project.path / "specs").rglob("*.md"))
        for node_id in NODE_ID.findall(spec.read_text(encoding="utf-8"))
        if "<" not in node_id  # the placeholders of the template and the index
    ]


@pytest.fixture
def project(renderer: Renderer, tmp_path: Path) -> Project:
    """A copy of the defaults' render, for a test to add specs and tests to."""
    path = tmp_path / "project"
    shutil.copytree(renderer.variant("defaults").path, path, ignore=shutil.ignore_patterns(".git"))
    (path / "tests" / "test_things.py").write_text(THINGS, encoding="utf-8")
    return Project(path)


def add_spec(project: Project, *names: str) -> str:
    """Add specs/area/extra.md, naming `names` one per line from line 5; return its path."""
    lines = ["# Extra", "", "Prose that names no test: src/tests/test_x.py::test_y.", ""]
    lines += [f"- a criterion: `{name}`" for name in names]
    spec = project.path / "specs" / "area" / "extra.md"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return spec.relative_to(project.path).as_posix()


def test_make_specs_passes_on_every_render_with_docs(rendered: Project) -> None:
    """Without .venv: the check is standard-library Python, run by python3."""
    if not rendered.on("use_docs"):
        assert not (rendered.path / "specs").exists()
        assert not (rendered.path / CHECK).exists()
        return
    result = rendered.make("specs")
    last = result.stdout.strip().splitlines()[-1]
    passed = PASSED.match(last)
    assert passed, output(result)
    example = "notes.md" if rendered.is_service else "logging.md"
    assert (rendered.path / "specs" / example).is_file()
    names = named_tests(rendered)
    assert int(passed[1]) == len(names) >= 7
    assert int(passed[2]) == 3  # the index, the template and the example
    assert result.stderr == ""


def test_the_worked_example_names_what_each_variant_tests(rendered: Project) -> None:
    """The notes spec names the tests of the backing services the variant has, and no other."""
    rendered.skip_unless("use_docs")
    names = named_tests(rendered)
    files = {name.split("::")[0] for name in names}
    if not rendered.is_service:
        assert files == {"tests/test_log.py", "tests/test_package.py"}
        return
    assert {"tests/test_notes.py", "tests/test_db.py", "tests/test_app.py"} <= files
    assert ("tests/test_cache.py" in files) == ("redis" in rendered.services)
    assert ("tests/test_worker.py" in files) == ("celery" in rendered.services)
    assert ("tests/test_integration.py" in files) == ("postgres" in rendered.services)
    # Every test of the notes module is a criterion.
    notes = (rendered.path / "tests" / "test_notes.py").read_text(encoding="utf-8")
    defined = set(re.findall(r"^def (test_\w+)", notes, re.MULTILINE))
    assert {f"tests/test_notes.py::{name}" for name in defined} <= set(names)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("tests/test_gone.py::test_x", "tests/test_gone.py does not exist"),
        ("tests/test_notes.py::test_gone", "no test_gone in tests/test_notes.py"),
        ("tests/test_things.py::TestThing::test_gone", "no test_gone in class TestThing"),
        ("tests/test_things.py::TestGone::test_inherited", "no TestGone in tests/test_things.py"),
        (
            "tests/test_things.py::TestThing::TestInner::test_gone",
            "no test_gone in class TestInner",
        ),
        ("tests/test_notes.py::DictCache", "DictCache is not a test class"),
        ("tests/test_things.py::helper", "helper is not a test (pytest collects functions"),
        (
            "tests/conftest.py::client",
            "pytest collects no test from tests/conftest.py: only from files named test_*.py "
            "or *_test.py",
        ),
        ("tests/helpers.py::test_helper", "pytest collects no test from tests/helpers.py"),
        (
            "tests/test_notes.py::test_notes_round_trip::test_x",
            "test_notes_round_trip is a function, not a class",
        ),
        ("tests/../scripts/check-specs.py::main", f"{MISSPELT}, as pytest prints it"),
        ("test/test_notes.py::test_missing_note_is_404", f"{MISSPELT}, by its file under tests/"),
        ("test_notes.py::test_missing_note_is_404", f"{MISSPELT}, by its file under tests/"),
        (
            "./tests/test_notes.py::test_missing_note_is_404",
            f"{MISSPELT}, from the project's root, without ./",
        ),
        (
            "tests\\test_notes.py::test_missing_note_is_404",
            f"{MISSPELT}, with / between folders and no backslash",
        ),
        (
            "tests/test\\_notes.py::test\\_missing\\_note\\_is\\_404",
            f"{MISSPELT}, with / between folders and no backslash",
        ),
        ("tests/test_broken.py::test_a", "tests/test_broken.py, line 2, is not valid Python"),
        ("tests/test_gone.py::test_x[case-1]", "tests/test_gone.py does not exist"),
    ],
)
def test_a_name_that_is_no_test_fails_with_its_file_and_line(
    project: Project, name: str, reason: str
) -> None:
    (project.path / "tests" / "test_broken.py").write_text("def test_a() -> None:\n  return (\n")
    (project.path / "tests" / "helpers.py").write_text("def test_helper() -> None:\n    pass\n")
    spec = add_spec(project, "tests/test_notes.py::test_missing_note_is_404", name)
    result = check(project)
    assert result.returncode == 1, output(result)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    shown = name.split("[")[0]
    assert lines[0].startswith(f"{spec}:6: {shown}: {reason}"), lines[0]
    assert re.fullmatch(
        r"specs: 1 of the \d+ tests named in specs/ do not exist \(above\): write them, or "
        r"correct the names",
        lines[1],
    )


def test_parametrized_inherited_nested_and_conditional_tests_pass(project: Project) -> None:
    before = PASSED.match(check(project).stdout.strip())
    assert before
    add_spec(
        project,
        "tests/test_notes.py::test_invalid_notes_are_rejected[body0]",
        "tests/test_things.py::test_numbers[2]",
        "tests/test_things.py::TestThing::test_inherited",
        "tests/test_things.py::TestThing::test_under_an_if",
        "tests/test_things.py::TestThing::TestInner::test_nested",
        "tests/test_things.py::TestThing",
    )
    result = check(project)
    assert result.returncode == 0, output(result)
    after = PASSED.fullmatch(result.stdout.strip())
    assert after, result.stdout
    assert (int(after[1]), int(after[2])) == (int(before[1]) + 6, int(before[2]) + 1)


def test_names_in_prose_are_read_and_what_names_no_test_is_not(project: Project) -> None:
    """Without backquotes, between brackets, quotes or bold, before punctuation, a name is read
    (and a Markdown escape reported); a URL, a <placeholder> and code under src/ are no names."""
    passed = PASSED.match(check(project).stdout.strip())
    assert passed
    spec = project.path / "specs" / "prose.md"
    spec.write_text(
        "# Prose\n\n"
        "Proven by tests/test_notes.py::test_missing_note_is_404, "
        "(tests/test_notes.py::test_notes_round_trip) and **tests/test_things.py::TestThing**.\n"
        "A page: https://ci.example.com/run?f=tests/test_gone.py::test_x, "
        "[a run](https://ci.example.com/tests/test_gone.py::test_y).\n"
        "To be written: `tests/test_<module>.py::test_<behaviour>`; the code: "
        "src/acme_billing/app.py::create_app.\n"
        "Escaped: tests/test\\_notes.py::test\\_gone, and 'tests/test_gone.py::test_z'.\n",
        encoding="utf-8",
    )
    result = check(project)
    assert result.returncode == 1, output(result)
    assert result.stderr.splitlines() == [
        "specs/prose.md:6: tests/test\\_notes.py::test\\_gone: "
        f"{MISSPELT}, with / between folders and no backslash (in backquotes, `_` needs none)",
        "specs/prose.md:6: tests/test_gone.py::test_z: tests/test_gone.py does not exist",
        f"specs: 2 of the {int(passed[1]) + 5} tests named in specs/ do not exist (above): write "
        "them, or correct the names",
    ]


def test_specs_in_linked_folders_are_read_once_and_links_back_are_not_followed(
    project: Project, tmp_path: Path
) -> None:
    """A folder of specs/ that is a link (Path.rglob does not follow one before Python 3.13) is
    read; two links to one folder read it once, under the first name; a link to specs/ itself
    or above it (a loop) is left out."""
    passed = PASSED.match(check(project).stdout.strip())
    assert passed
    shared = tmp_path / "shared-specs"
    (shared / "area").mkdir(parents=True)
    (shared / "area" / "linked.md").write_text("- `tests/test_notes.py::test_linked_gone`\n")
    specs = project.path / "specs"
    links = {"zz-shared": shared, "a-shared": shared, "up": Path(".."), "self": Path()}
    for link, target in links.items():
        (specs / link).symlink_to(target, target_is_directory=True)
    result = check(project)
    assert result.returncode == 1, output(result)
    assert result.stderr.splitlines() == [
        "specs/a-shared/area/linked.md:1: tests/test_notes.py::test_linked_gone: no "
        "test_linked_gone in tests/test_notes.py",
        f"specs: 1 of the {int(passed[1]) + 1} tests named in specs/ do not exist (above): write "
        "them, or correct the names",
    ]
    (shared / "area" / "linked.md").write_text("- `tests/test_notes.py::test_notes_round_trip`\n")
    after = PASSED.fullmatch(check(project).stdout.strip())
    assert after
    assert (int(after[1]), int(after[2])) == (int(passed[1]) + 1, int(passed[2]) + 1)


def test_the_notes_spec_without_redis_names_what_adding_it_leaves_as_it_is(
    renderer: Renderer,
) -> None:
    without, redis = renderer.variant("services-none"), renderer.variant("services-redis")
    spec = " ".join((without.path / "specs" / "notes.md").read_text().split())
    claim = re.search(r"adding Redis later \(.+?\) leaves (.+?) as they are", spec)
    assert claim, spec
    files = re.findall(r"`([^`]+)`", claim[1])
    assert files == ["api/notes.py", "dependencies.py"]
    for name in files:
        before = (without.path / "src" / without.package / name).read_text()
        assert before == (redis.path / "src" / redis.package / name).read_text(), name


def test_every_missing_name_is_reported_on_its_line(project: Project) -> None:
    passed = PASSED.match(check(project).stdout.strip())
    assert passed
    spec = add_spec(project, "tests/test_gone.py::test_a", "tests/test_gone.py::test_b")
    (project.path / "specs" / "latin1.md").write_bytes(b"caf\xe9 `tests/test_gone.py::test_c`\n")
    result = check(project)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "specs/latin1.md: byte 3 is not UTF-8: save it as UTF-8",
        f"{spec}:5: tests/test_gone.py::test_a: tests/test_gone.py does not exist",
        f"{spec}:6: tests/test_gone.py::test_b: tests/test_gone.py does not exist",
        f"specs: 2 of the {int(passed[1]) + 2} tests named in specs/ do not exist (above): write "
        "them, or correct the names",
    ]


def test_without_specs_the_check_says_what_to_do(project: Project) -> None:
    shutil.rmtree(project.path / "specs")
    result = check(project)
    assert result.returncode == 1
    assert result.stderr == (
        "specs: no specs/ folder: restore it, or remove its check from the Makefile\n"
    )


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["defaults", "library"], indirect=True)
def test_the_named_tests_are_collected_by_pytest(green: Project) -> None:
    """The names are pytest's own node ids, parametrized ids too (the check leaves ids alone)."""
    names = named_tests(green)
    result = green.run([green.tool("pytest"), "--collect-only", "-q", "--no-cov", *names])
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    for name in names:
        assert any(line == name or line.startswith(f"{name}[") for line in collected), name


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["defaults", "library"], indirect=True)
def test_make_check_fails_on_a_spec_that_names_a_missing_test(green: Project) -> None:
    spec = green.path / "specs" / "broken.md"
    spec.write_text("# Broken\n\n- `tests/test_package.py::test_gone`\n", encoding="utf-8")
    try:
        said = "specs/broken.md:3: tests/test_package.py::test_gone: no test_gone in "
        specs = green.make("specs", check=False)
        assert specs.returncode != 0
        assert said in specs.stderr
        result = green.make("check", check=False)
        assert result.returncode != 0
        assert said in result.stderr
        commands = [line for line in result.stdout.splitlines() if line.startswith(".venv/bin/")]
        assert commands[-1] == f".venv/bin/python {CHECK}"  # the gate that stopped it
    finally:
        spec.unlink()
    assert PASSED.match(green.make("specs").stdout.splitlines()[-1])
