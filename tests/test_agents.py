"""A rendered project's README.md, AGENTS.md and docs/decisions/: both files state the same facts
(partials/project.jinja) without repeating each other's prose, every `make` command they name is
a target of the variant's `make help`, the `-k` examples select tests of the variant (and run),
`make check` runs the gates AGENTS.md lists, on the folders pyproject.toml gives mypy, the first
decision record holds the answers and the template's version (worded for a new project, or for
the update that added it), the records build strictly as records are added, and with
`use_docs` off none of it is rendered."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest

from helpers import ROOT, dev_tool, output
from project import Project, Renderer, TemplateRepo

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

README_TEMPLATE = ROOT / "template" / "README.md.jinja"
AGENTS_TEMPLATE = ROOT / "template" / "{% if use_docs %}AGENTS.md{% endif %}.jinja"
PARTIAL = "partials/project.jinja"
RECORD = "docs/decisions/0001-start-from-the-template.md"
# Code in Markdown: fenced blocks, then inline spans (which may wrap a line).
FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"`([^`]+)`")
MAKE = re.compile(r"(?:^|[\s;&|(])make ([a-z][a-z0-9-]*)")
# A command of the lists both files take from the partial: "- `make X ...`: what it does".
COMMAND = re.compile(r"^- `(make [^`]+)`: (.+?)[;.]$", re.MULTILINE)
GATE = re.compile(r"^\d+\. `([^`]+)`: ", re.MULTILINE)
ROW = re.compile(r"^\| ([^|]+?) \| (.+?) \|$", re.MULTILINE)
# A `make` command of README.md that chooses tests by name, and the name.
K_EXAMPLE = re.compile(r"`(make [a-z-]+ PYTEST_ARGS=\"-k (\w+)[^`\"]*\")`")


def make_targets_named(text: str) -> set[str]:
    """The targets of every `make ...` command in the code of a Markdown text."""
    blocks = FENCED.findall(text)
    code = blocks + INLINE.findall(FENCED.sub("", text))
    return {target for snippet in code for target in MAKE.findall(snippet)}


def read(project: Project, name: str) -> str:
    """A rendered file's text."""
    return (project.path / name).read_text(encoding="utf-8")


def test_every_make_command_named_is_a_target_of_make_help(rendered: Project) -> None:
    targets = set(rendered.help_targets())
    readme = make_targets_named(read(rendered, "README.md"))
    assert readme <= targets, f"README.md names {sorted(readme - targets)}"
    day_one = {"setup", "check", "install", "sync", "test-fast", "format", "lint-fix"}
    if rendered.is_service:
        day_one |= {"run", "migration"}
    if rendered.on("use_docs"):
        day_one |= {"docs", "docs-serve"}
        agents = make_targets_named(read(rendered, "AGENTS.md"))
        assert agents <= targets, f"AGENTS.md names {sorted(agents - targets)}"
        assert {"setup", "check", "test-fast", "specs", "docs", "sync", "help"} <= agents
    assert day_one <= readme


def test_the_readme_points_to_make_help_instead_of_a_table(rendered: Project) -> None:
    """A table of targets drifts from the Makefile; `make help` cannot."""
    readme = read(rendered, "README.md")
    assert not re.search(r"^\| `make ", readme, re.MULTILINE)
    assert "`make help` lists every target with what it does" in readme


def test_readme_and_agents_state_the_same_facts(rendered: Project) -> None:
    rendered.skip_unless("use_docs")
    readme = dict(COMMAND.findall(read(rendered, "README.md")))
    agents = dict(COMMAND.findall(read(rendered, "AGENTS.md")))
    shared = readme.keys() & agents.keys()
    assert {"make check", "make sync", "make test-fast", "make docs"} <= shared
    assert {command: readme[command] for command in shared} == {
        command: agents[command] for command in shared
    }
    for text in (read(rendered, "README.md"), read(rendered, "AGENTS.md")):
        assert "- `.copier-answers.yml`: the template's answers and release" in text
        if rendered.is_service:
            assert "| `services.py` | the backing services made from settings" in text


def test_make_check_runs_the_gates_agents_lists_in_order(rendered: Project) -> None:
    """AGENTS.md's gates are `make check`'s recipe, one for one (`make -n`: nothing runs)."""
    rendered.skip_unless("use_docs")
    gates = GATE.findall(read(rendered, "AGENTS.md"))
    dry = rendered.make("-n", "check").stdout.splitlines()
    recipe = dry[dry.index("bash scripts/setup.sh") + 1 :]  # after the setup .venv needs first
    assert len(recipe) == len(gates), (recipe, gates)
    for line, gate in zip(recipe, gates, strict=True):
        assert gate in line, (gate, line)
    summary = dict(COMMAND.findall(read(rendered, "AGENTS.md")))["make check"]
    assert summary.count(",") == len(gates) - 1


def test_the_types_gate_names_the_folders_mypy_checks(rendered: Project) -> None:
    rendered.skip_unless("use_docs")
    pyproject = tomllib.loads(read(rendered, "pyproject.toml"))
    folders = [f"`{folder}/`" for folder in pyproject["tool"]["mypy"]["files"]]
    [gate] = re.findall(r"^\d+\. `mypy`: (.*);$", read(rendered, "AGENTS.md"), re.MULTILINE)
    assert gate == f"strict typing of {', '.join(folders[:-1])} and {folders[-1]}"


def k_examples(project: Project) -> list[tuple[str, str]]:
    """README.md's `make ... PYTEST_ARGS="-k NAME ..."` commands, with their NAME."""
    return K_EXAMPLE.findall(read(project, "README.md"))


def test_the_readme_k_examples_choose_tests_of_the_variant(rendered: Project) -> None:
    """The name after -k is in the name of a test function of the variant (pytest's exit 5,
    "no tests ran", otherwise)."""
    examples = k_examples(rendered)
    assert len(examples) == 2, examples
    tests = "\n".join(path.read_text() for path in (rendered.path / "tests").glob("test_*.py"))
    for command, name in examples:
        assert re.search(rf"^(?:async )?def test_\w*{name}", tests, re.MULTILINE), command


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["defaults", "library"], indirect=True)
def test_the_readme_k_examples_run(green: Project) -> None:
    for command, _ in k_examples(green):
        result = green.run(shlex.split(command))
        assert re.search(r"\d+ passed.* \d+ deselected", result.stdout), output(result)


def sentences(path: Path) -> set[str]:
    """The sentences of a template's text (Jinja and Markdown markup left out), normalized."""
    text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", path.read_text(), flags=re.DOTALL)
    words = re.sub(r"[`*|#>-]+", " ", text)
    parts = re.split(r"(?<=[.;:!?])\s+|\n\s*\n", words)
    return {" ".join(part.split()).lower() for part in parts if len(part.split()) >= 5}


def test_no_prose_is_written_in_both_readme_and_agents() -> None:
    """What both say is written once, in the partial both import."""
    for path in (README_TEMPLATE, AGENTS_TEMPLATE):
        assert f'{{% import "{PARTIAL}" as facts with context -%}}' in path.read_text()
    repeated = sentences(README_TEMPLATE) & sentences(AGENTS_TEMPLATE)
    assert not repeated, repeated


def record_answers(project: Project) -> dict[str, str]:
    """The table of the first decision record: question, answer."""
    rows = dict(ROW.findall(read(project, RECORD)))
    rows.pop("question")
    return rows


def test_the_first_record_holds_the_answers(rendered: Project) -> None:
    rendered.skip_unless("use_docs")
    text = read(rendered, RECORD)
    assert text.startswith("# 1. Start Acme Billing from a Copier template\n")
    # Written once, so it names the version itself: the answers file's moves with each update.
    version = rendered.answers["_commit"]
    said = " ".join(text.split())
    assert f"Generate the project from a Copier template, at its version `{version}`" in said
    assert "Before its first line of code" in said
    assert "`make check` passes from the first commit" in said
    changelog = re.search(r"^## \[0\.1\.0\] - (\S+)$", read(rendered, "CHANGELOG.md"), re.M)
    assert changelog
    assert f"- Status: accepted\n- Date: {changelog[1]}\n" in text
    answers = rendered.answers
    rows = record_answers(rendered)
    assert rows["kind of project"].startswith(f"a {answers['project_type']}")
    assert rows["package"] == f"`{rendered.package}`, in `src/{rendered.package}/`"
    assert rows["Python"] == (
        f"{answers['python_version']} preferred, {answers['python_min_version']} and newer "
        "supported"
    )
    assert rows["license"] == answers["license"]
    assert rows["CI and releases"].startswith(
        "GitHub Actions" if rendered.on("use_github_actions") else "none"
    )
    assert rows["dependency updates"].startswith(
        "Dependabot" if rendered.on("use_dependabot") else "by hand"
    )
    assert rows["git hooks"].startswith("pre-commit" if rendered.on("use_pre_commit") else "none")
    hours = answers.get("sync_interval_hours")
    assert rows["auto-sync"].startswith(f"every {hours} hour(s)" if hours else "none")
    if rendered.is_service:
        names = {
            "postgres": "PostgreSQL",
            "redis": "Redis",
            "celery": "Celery (worker, beat and Flower)",
        }
        chosen = ", ".join(names[service] for service in rendered.services)
        assert rows["backing services"] == (chosen or "none: SQLite, no cache, no task queue")
        assert rows["containers"] == (
            "a Dockerfile and a compose stack" if rendered.on("use_docker") else "none"
        )
    else:
        assert "backing services" not in rows
        assert "containers" not in rows


def test_the_first_record_added_by_an_update_says_so(template: TemplateRepo) -> None:
    """A project without docs turns use_docs on in an update: its record says it was written
    then, for an older decision, and names the template's version of that day."""
    project = template.renderer.render("everything-off")
    project.commit("Initial project")
    assert not (project.path / RECORD).exists()
    template.release("v2", "README.md.jinja", "\n", "\n\n")
    copier.run_update(str(project.path), data={"use_docs": True}, defaults=True, overwrite=True,
                      unsafe=True, skip_tasks=True, quiet=True)  # fmt: skip
    assert project.answers["_commit"] == "v2"
    assert project.answers["use_docs"] is True
    said = " ".join(read(project, RECORD).split())
    assert "started from a Copier template before the template wrote decision records" in said
    assert (
        "Keep generating the project from a Copier template, on the day of this record at its "
        "version `v2`"
    ) in said
    assert "Before its first line of code" not in said
    assert "from the first commit" not in said
    assert "- Keeping `make check` passing is the team's job." in said


def test_records_build_strictly_and_each_new_one_is_listed(
    renderer: Renderer, tmp_path: Path
) -> None:
    """The records' pages in a site of their own (the full site: tests/test_project_docs.py):
    the glob toctree takes every record, a new one too, and the template, with no warning."""
    sphinx = dev_tool("sphinx-build")
    site = tmp_path / "site"
    shutil.copytree(renderer.variant("defaults").path / "docs" / "decisions", site / "decisions")
    (site / "conf.py").write_text('extensions = ["myst_parser"]\nproject = "Records"\n')
    (site / "index.md").write_text("# Home\n\n```{toctree}\ndecisions/index\n```\n")
    template = (site / "decisions" / "template.md").read_text()
    (site / "decisions" / "0002-use-postgresql.md").write_text(
        template.replace("# N. The decision, in a short sentence", "# 2. Use PostgreSQL")
    )
    result = subprocess.run(
        [sphinx, "-W", "--keep-going", "-q", "-b", "html", str(site), str(site / "_build")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, output(result)
    index = (site / "_build" / "decisions" / "index.html").read_text()
    toctree = index.split('<div class="toctree-wrapper compound">', 1)[1].split("</div>", 1)[0]
    links = re.findall(r'class="reference internal" href="([^"#]+)"', toctree)
    pages = ["0001-start-from-the-template.html", "0002-use-postgresql.html", "template.html"]
    assert [link for link in links if link in pages] == pages


def test_use_docs_off_renders_none_of_it(rendered: Project) -> None:
    paths = ["AGENTS.md", "specs", "docs/decisions", "scripts/check-specs.py"]
    on = rendered.on("use_docs")
    for path in paths:
        assert (rendered.path / path).exists() == on, path
    readme = read(rendered, "README.md")
    for mention in ("AGENTS.md", "specs/", "make docs", "docs/decisions"):
        assert (mention in readme) == on, mention
