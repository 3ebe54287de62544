"""A rendered project's README.md, AGENTS.md and docs/decisions/: both files state the same facts
(partials/project.jinja) without repeating each other's prose, every `make` command they name is
a target of the variant's `make help`, `make check` runs the gates AGENTS.md lists, the first
decision record holds the answers, the records build strictly as records are added, and with
`use_docs` off none of it is rendered."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from helpers import ROOT, dev_tool, output
from project import Project, Renderer

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
