"""The rendered project's docs site (`use_docs`), for real: `make docs` builds it strictly with
an API reference of every module, found with no edit, each module on its own page even when
its package imports something of the same name; a broken docstring fails it naming its file,
at every run; a folder without `__init__.py` and a module that cannot be imported are each one
line; `make docs-serve` serves it, rebuilds on a change and names DOCS_PORT when the port is
taken; the description shows as typed; the container image, CI and a project without
`use_docs` leave it out; a project of a release before `use_docs` keeps none through `make
template-update` unless it answers yes, and then one that had its own docs/index.md keeps its
words."""

from __future__ import annotations

import ast
import contextlib
import html
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from pytest_copie.plugin import Copie

from helpers import clean_env, dev_tool, free_port, git, output, run
from project import Project, Renderer
from releases import clone_template, release_commits, version_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# A service and a library: every module the API reference must list differs between them.
SERVICE_AND_LIBRARY = pytest.mark.parametrize("variant", ["defaults", "library"], indirect=True)
# The modules the reference leaves out: importing them runs them.
NOT_IMPORTED = {"__main__", "migrations"}
# A module the team adds, and one whose docstring is not valid reStructuredText.
PRICING = '''"""Prices of the team's own product."""


def with_vat(cents: int, rate_percent: int = 20) -> int:
    """Return cents with VAT added at rate percent, rounded down to a cent."""
    return cents * (100 + rate_percent) // 100
'''
BROKEN = '''"""A module whose docstring breaks reStructuredText."""


def broken() -> None:
    """Return nothing, with an ``unclosed literal."""
'''
# Every character that could start Markdown or HTML markup, in a one-line description that
# starts with a heading's; and what typography would change (dashes, an ellipsis, quotes).
HOSTILE_DESCRIPTION = (
    r"### Bills *fast* and _well_: <b>bold</b> [a link](https://x.example) `code` &amp; \* "
    r"{ref}`label` 100% $5 | ~x~ #1 ![img](y.png) [^note] -- --- ... "
    '"quoted" it\'s'
)
# Descriptions whose first characters Markdown or MyST would read as markup at a line's start:
# a heading, a comment, lists, a quote, a rule, a target, raw HTML, a fence, a role.
MARKUP_FIRST = [
    "### Billing: fast",
    "% of invoices paid",
    "+ item",
    "1. first",
    "> quoted",
    "--- a rule?",
    "(target)=",
    "<div>raw",
    "```python",
    "{ref}`label` and \\ a backslash",
]
# A module named like something the package imports (`import logging` in __init__.py; the
# `router` of api/__init__.py).
SHOUT = '''"""Text helpers of the team's own."""


def shout(text: str) -> str:
    """Return text in capitals."""
    return text.upper()
'''
# How long `make docs-serve` may take to serve a page, or to rebuild after a change (seconds).
SERVE_TIMEOUT = 120.0


def page_text(path: Path) -> str:
    """The text of an HTML page: tags dropped, entities undone (Sphinx's smart quotes are off)."""
    text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
    return " ".join(text.split())


def plain(docstring: str) -> str:
    """A docstring's summary as the page shows it: reST's backquotes gone, spaces collapsed."""
    return " ".join(docstring.strip().splitlines()[0].replace("`", "").split())


def expected_modules(project: Project) -> list[str]:
    """Every module of the package under src/, by import name, but those never imported."""
    source = project.path / "src"
    names = []
    for path in sorted((source / project.package).rglob("*.py")):
        parts = list(path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        packaged = all((source / Path(*parts[:n]) / "__init__.py").exists()
                       for n in range(1, len(parts)))  # fmt: skip
        if packaged and not NOT_IMPORTED & set(parts):
            names.append(".".join(parts))
    return sorted(names)


def reference_modules(project: Project) -> list[str]:
    """The modules the built reference's index links to, a page each."""
    index = project.path / "docs" / "_build" / "html" / "reference" / "index.html"
    linked = re.findall(r'href="([\w.]+)\.html"', index.read_text(encoding="utf-8"))
    assert all((index.parent / f"{name}.html").is_file() for name in linked), linked
    return sorted(set(linked))


def make_docs(project: Project, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`make docs`; when it must pass, its output holds no warning."""
    result = project.make("docs", check=check)
    if check:
        assert "WARNING" not in output(result), output(result)
    return result


@contextlib.contextmanager
def added(project: Project, files: dict[str, str]) -> Iterator[None]:
    """`files` (path under the package: text) added for the block, then removed with the
    folders they needed and the built pages."""
    package = project.path / "src" / project.package
    made = [folder for name in files for folder in (package / name).parents
            if folder.is_relative_to(package) and not folder.exists()]  # fmt: skip
    try:
        for name, text in files.items():
            (package / name).parent.mkdir(parents=True, exist_ok=True)
            (package / name).write_text(text, encoding="utf-8")
        yield
    finally:
        for name in files:
            (package / name).unlink(missing_ok=True)
        for folder in sorted(set(made), key=lambda path: len(path.parts), reverse=True):
            shutil.rmtree(folder, ignore_errors=True)
        project.make("clean")


@contextlib.contextmanager
def module(project: Project, name: str, text: str) -> Iterator[Path]:
    """A module `name` added to the package for the block, then removed (with its pages)."""
    with added(project, {f"{name}.py": text}):
        yield project.path / "src" / project.package / f"{name}.py"


@SERVICE_AND_LIBRARY
@pytest.mark.slow
def test_make_docs_builds_strictly_with_the_api_reference(green: Project) -> None:
    """Every module has its page with its objects' docstrings; the entry point and the
    migrations are never imported; name, author and version come from the package."""
    result = make_docs(green)
    site = green.path / "docs" / "_build" / "html"
    assert "Open docs/_build/html/index.html" in result.stdout
    assert reference_modules(green) == expected_modules(green)
    if green.is_service:
        assert not {f"{green.package}.__main__", f"{green.package}.migrations"} & set(
            reference_modules(green)
        )
    log = ast.parse((green.path / "src" / green.package / "log.py").read_text())
    raw = (site / "reference" / f"{green.package}.log.html").read_text()
    page = page_text(site / "reference" / f"{green.package}.log.html")
    documented = [node for node in log.body
                  if isinstance(node, (ast.FunctionDef, ast.ClassDef))
                  and not node.name.startswith("_") and ast.get_docstring(node)]  # fmt: skip
    assert documented
    for node in documented:
        assert f'id="{green.package}.log.{node.name}"' in raw, node.name
        assert plain(ast.get_docstring(node) or "") in page, node.name
    index = page_text(site / "index.html")
    assert "Acme Billing" in index
    assert "Copyright © Acme Developers" in index
    assert green.answers["description"] in index
    options = (site / "_static" / "documentation_options.js").read_text()
    assert re.search(r"VERSION: '0\.1\.0'", options), options
    # Built and generated files are never committed, and `make clean` removes them.
    for generated in ("docs/_build", "docs/reference"):
        assert green.git("check-ignore", generated) == generated
    green.make("clean")
    assert not (green.path / "docs" / "_build").exists()
    assert not (green.path / "docs" / "reference").exists()


@SERVICE_AND_LIBRARY
@pytest.mark.slow
def test_a_module_added_to_the_package_is_in_the_reference_with_no_edit(green: Project) -> None:
    """And once removed, its page goes: the strict build does not trip on a stale page."""
    with module(green, "pricing", PRICING) as added:
        make_docs(green)
        name = f"{green.package}.pricing"
        page = green.path / "docs" / "_build" / "html" / "reference" / f"{name}.html"
        assert f'id="{name}.with_vat"' in page.read_text()
        assert "Return cents with VAT added at rate percent, rounded down to a cent." in (
            page_text(page)
        )
        assert name in reference_modules(green)
        added.unlink()
        make_docs(green)
        assert name not in reference_modules(green)
        assert not (green.path / "docs" / "reference" / f"{name}.rst").exists()


@SERVICE_AND_LIBRARY
@pytest.mark.slow
def test_each_module_is_documented_as_itself_and_what_is_left_out_is_said_once(
    green: Project,
) -> None:
    """A `logging.py` beside an `__init__.py` that imports the standard library's logging, and
    in a service an `api/router.py` beside the `router` that `api/__init__.py` defines, get
    their own pages; a folder of Python files without `__init__.py`, and a module that cannot
    be imported, fail the build with one line each, naming them."""
    files = {
        "logging.py": SHOUT,
        "extra/thing.py": '"""Nothing to document: this folder is no package."""\n',
        "failing.py": '"""A module that cannot be imported."""\n\nimport not_installed_anywhere\n',
    }
    shadowing = ["logging"]
    if green.is_service:
        files["api/router.py"] = SHOUT
        shadowing.append("api.router")
    with added(green, files):
        result = make_docs(green, check=False)
        said = output(result)
        assert result.returncode != 0, said
        warnings = [line for line in said.splitlines() if "WARNING" in line]
        assert warnings == [
            f"WARNING: src/{green.package}/extra/ has Python files but no __init__.py: add one "
            "to document them",
            f"WARNING: {green.package}.failing cannot be imported (ModuleNotFoundError: No "
            "module named 'not_installed_anywhere'): fix it to have its page",
        ], said
        listed = reference_modules(green)
        for module_name in (f"{green.package}.{name}" for name in shadowing):
            assert module_name in listed
            page = green.path / "docs" / "_build" / "html" / "reference" / f"{module_name}.html"
            assert f'id="{module_name}.shout"' in page.read_text()
        assert not {f"{green.package}.failing", f"{green.package}.extra.thing"} & set(listed)


@pytest.mark.parametrize("variant", ["library"], indirect=True)
@pytest.mark.slow
def test_the_footer_names_every_author_with_an_email_or_without(green: Project) -> None:
    """pyproject.toml's authors as the package's metadata has them: with an email in
    Author-email, without one in Author; an email alone stands for its author."""
    pyproject = green.path / "pyproject.toml"
    original = pyproject.read_text()
    authors = (
        'authors = [{ name = "Ann Writer" }, { name = "Bob Coder", email = "bob@example.com" }, '
        '{ email = "eve@example.com" }]'
    )
    pyproject.write_text(re.sub(r"^authors = .*$", authors, original, count=1, flags=re.M))
    try:
        green.make("install")  # the metadata Sphinx reads is the installed package's
        make_docs(green)
        footer = page_text(green.path / "docs" / "_build" / "html" / "index.html")
        assert "Copyright © Bob Coder, eve@example.com, Ann Writer" in footer
    finally:
        pyproject.write_text(original)
        green.make("install")
        green.make("clean")


def get(url: str) -> str | None:
    """The body of a 200 answer to GET `url`, or None while nothing (or an error) answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 # 127.0.0.1 only
            return str(answer.read().decode())
    except OSError:
        return None


def poll(what: str, probe: Callable[[], str | None], log: Path) -> str:
    """`probe`'s first answer within SERVE_TIMEOUT seconds; fail with the log's end if none."""
    deadline = time.monotonic() + SERVE_TIMEOUT
    while time.monotonic() < deadline:
        if (answer := probe()) is not None:
            return answer
        time.sleep(0.5)
    pytest.fail(
        f"no {what} after {SERVE_TIMEOUT:.0f} s:\n{log.read_text(errors='replace')[-3000:]}"
    )


def group_alive(group: int) -> bool:
    """Whether any process of process group `group` is still running."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def docs_serve(project: Project, port: int, log: Path) -> Iterator[None]:
    """`make docs-serve` in a process group of its own; stopped as Ctrl-C stops it, then
    killed if any of the group outlives a bounded wait."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "docs-serve", f"DOCS_PORT={port}"], cwd=project.path, env=clean_env(),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            process.poll()  # reaps make: a zombie would count as alive
            if not group_alive(process.pid):
                break
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@SERVICE_AND_LIBRARY
@pytest.mark.slow
def test_make_docs_serve_serves_the_site_and_rebuilds_on_a_change(
    green: Project, tmp_path: Path
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        taken = busy.getsockname()[1]
        refused = green.make("docs-serve", f"DOCS_PORT={taken}", check=False)
    assert refused.returncode != 0
    assert refused.stderr.startswith(
        f"docs-serve: cannot serve on 127.0.0.1:{taken} (in use, or not a port): pick another, "
        "e.g. make docs-serve DOCS_PORT=8002\n"
    ), refused.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "docs-serve.log"
    added = green.path / "src" / green.package / "pricing_live.py"
    try:
        with docs_serve(green, port, log):
            index = poll("index page", lambda: get(f"{base}/"), log)
            assert "<title>Acme Billing" in index
            assert f'href="reference/{green.package}.log.html"' in index
            # A module saved while it serves gets its page, without a restart.
            added.write_text(PRICING.replace("Prices", "Live prices"))
            url = f"{base}/reference/{green.package}.pricing_live.html"
            page = poll("page of the module added", lambda: get(url), log)
            assert "Live prices of the team" in html.unescape(page).replace("\u2019", "'")
    finally:
        added.unlink(missing_ok=True)
        green.make("clean")
    said = log.read_text()
    assert f"Serving on http://127.0.0.1:{port}" in said, said
    assert get(f"{base}/") is None  # stopped: nothing answers any more


def assert_the_docstring_fails(project: Project, result: subprocess.CompletedProcess[str]) -> None:
    """`make docs` failed on BROKEN's docstring, naming its file."""
    said = output(result)
    assert result.returncode != 0, said
    assert re.search(
        rf"src/{project.package}/broken\.py:docstring of {project.package}\.broken\.broken:1: "
        r"(WARNING|ERROR): Inline literal start-string without end-string",
        said,
    ), said
    assert re.search(r"make: \*\*\* \[Makefile:\d+: docs\] Error", said), said


@SERVICE_AND_LIBRARY
@pytest.mark.slow
def test_a_broken_docstring_fails_make_docs_every_time_naming_its_file(
    green: Project, tmp_path: Path
) -> None:
    """After `make docs-serve` (not strict) built the same files into the same folder, and
    again on a second run: Sphinx repeats no warning of a file its cache says is unchanged."""
    log = tmp_path / "docs-serve.log"
    port = free_port()
    green.make("clean")
    with module(green, "broken", BROKEN):
        with docs_serve(green, port, log):
            poll("index page", lambda: get(f"http://127.0.0.1:{port}/"), log)
        assert "Inline literal start-string without end-string" in log.read_text()  # served
        assert_the_docstring_fails(green, make_docs(green, check=False))
        assert_the_docstring_fails(green, make_docs(green, check=False))


def test_a_description_that_starts_with_markup_is_shown_as_typed(
    render: Renderer, tmp_path: Path
) -> None:
    """Each description's line of docs/index.md, as the first paragraph of a page of its own,
    built strictly with MyST: one paragraph with the text as typed, and no warning (a heading
    that skips levels is one)."""
    sphinx = dev_tool("sphinx-build")
    site = tmp_path / "site"
    site.mkdir()
    for number, description in enumerate(MARKUP_FIRST):
        project = render("library", description=description)
        index = (project.path / "docs" / "index.md").read_text().split("\n")
        assert index[:2] == ["# Acme Billing", ""]
        assert index[3] == ""
        (site / f"case{number}.md").write_text(f"# Case {number}\n\n{index[2]}\n")
    assert "\nsmartquotes = False\n" in (project.path / "docs" / "conf.py").read_text()
    (site / "conf.py").write_text('extensions = ["myst_parser"]\nsmartquotes = False\n')
    pages = "\n".join(f"case{number}" for number in range(len(MARKUP_FIRST)))
    (site / "index.md").write_text(f"# Cases\n\n```{{toctree}}\n{pages}\n```\n")
    result = subprocess.run(
        [sphinx, "-E", "-W", "--keep-going", "-q", "-b", "html", str(site), str(site / "_build")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, output(result)
    for number, description in enumerate(MARKUP_FIRST):
        page = (site / "_build" / f"case{number}.html").read_text()
        body = page.split("</h1>", 1)[1]
        shown = [html.unescape(re.sub(r"<[^>]+>", "", paragraph))
                 for paragraph in re.findall(r"<p>(.*?)</p>", body, re.DOTALL)]  # fmt: skip
        assert shown[:1] == [description], (description, body[:500])


@pytest.mark.parametrize("variant", ["library"], indirect=True)
@pytest.mark.slow
def test_the_description_is_shown_as_typed_however_it_reads_as_markup(
    green: Project, render: Renderer
) -> None:
    """docs/index.md of a description full of Markdown and HTML builds strictly and shows it."""
    hostile = render("library", description=HOSTILE_DESCRIPTION)
    index = green.path / "docs" / "index.md"
    original = index.read_text()
    index.write_text((hostile.path / "docs" / "index.md").read_text())
    try:
        make_docs(green)
        shown = page_text(green.path / "docs" / "_build" / "html" / "index.html")
        assert HOSTILE_DESCRIPTION in shown
    finally:
        index.write_text(original)
        green.make("clean")


def test_the_ci_docs_job_runs_make_docs_after_setup(rendered: Project) -> None:
    rendered.skip_unless("use_github_actions")
    workflow = yaml.safe_load((rendered.path / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    if not rendered.on("use_docs"):
        assert "docs" not in jobs
        return
    runs = [step["run"] for step in jobs["docs"]["steps"] if "run" in step]
    setup = next(i for i, script in enumerate(runs) if script.startswith("make setup"))
    assert runs[setup + 1 :] == ["make docs"]
    assert jobs["docs"]["steps"][:2] == jobs["check"]["steps"][:2]  # the same pinned actions
    # Not a gate of make check (it would add ~10 s): CI builds it.
    recipe = re.search(r"^check:.*\n((?:\t.*\n)+)", (rendered.path / "Makefile").read_text(), re.M)
    assert recipe is not None
    assert "sphinx" not in recipe[1]


@pytest.mark.parametrize("variant", ["everything-off"], indirect=True)
def test_without_use_docs_there_is_no_site_target_or_group(rendered: Project) -> None:
    assert not rendered.on("use_docs")
    assert not (rendered.path / "docs").exists()
    assert not {"docs", "docs-serve"} & set(rendered.help_targets())
    result = rendered.make("docs", check=False)
    assert result.returncode != 0
    assert "No rule to make target 'docs'" in result.stderr
    pyproject = tomllib.loads((rendered.path / "pyproject.toml").read_text())
    assert set(pyproject["dependency-groups"]) == {"dev"}
    assert pyproject["tool"]["uv"]["default-groups"] == ["dev"]
    assert "docs" not in pyproject["tool"]["mypy"]["files"]
    assert not re.search(r"sphinx|myst|furo", (rendered.path / "pyproject.toml").read_text())
    # A docs/ of the team's own is theirs to commit, reference/ and _build/ too.
    for own in ("docs/reference/api.md", "docs/_build/notes.md"):
        assert rendered.run(["git", "check-ignore", "-q", own], check=False).returncode == 1, own


def test_the_image_leaves_out_the_groups_of_make_setup_naming_each(render: Renderer) -> None:
    """The Dockerfile's comment names the docs group only when the project has it."""
    for use_docs in (True, False):
        dockerfile = (render(use_docs=use_docs).path / "Dockerfile").read_text()
        groups = "(dev tools, docs)" if use_docs else "(dev tools)"
        assert f"none of the groups `make setup` installs {groups}.\n" in dockerfile


@pytest.mark.parametrize("variant", ["defaults"], indirect=True)
@pytest.mark.slow
def test_the_image_installs_no_docs_tool(green: Project, tmp_path: Path) -> None:
    """The Dockerfile's own `uv sync` line, run on the project's lock: the app's dependencies,
    none of the docs group (nor the dev group) that `make setup` installs."""
    dockerfile = (green.path / "Dockerfile").read_text()
    [sync] = re.findall(r"^    (uv sync [^\n]*)$", dockerfile, re.MULTILINE)
    environment = tmp_path / "image-venv"
    env = clean_env(UV_PROJECT_ENVIRONMENT=str(environment), UV_PYTHON=green.tool("python"))
    run([green.tool("uv"), *sync.split()[1:]], green.path, env=env)
    installed = {path.name for path in (environment / "bin").iterdir()}
    assert "uvicorn" in installed
    assert not {"sphinx-build", "sphinx-autobuild", "pytest", "ruff"} & installed, installed
    assert (green.path / ".venv" / "bin" / "sphinx-build").exists()  # make setup's has them


def release_before_docs(template: Path) -> str:
    """The newest release of the template whose copier.yml has no `use_docs` question."""
    releases = sorted(release_commits(template), key=lambda tag: version_key(tag[1:]))
    for tag in reversed(releases):
        if "\nuse_docs:" not in git(template, "show", f"{tag}:copier.yml"):
            return tag
    pytest.fail("every release has use_docs: choose an older project for this test")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository with its releases tagged and the working tree committed on top."""
    return clone_template(tmp_path_factory.mktemp("docs-history") / "template", older={})


OWN_INDEX = "# Our handbook\n\nHow we run billing: written by the team, kept by every update.\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("opt_in", "own_index"),
    [(False, False), (True, False), (True, True)],
    ids=["defaults", "opt-in", "opt-in-own-index"],
)
def test_an_update_from_a_release_before_use_docs_adds_the_site_when_asked(
    copie: Copie, history: Path, opt_in: bool, own_index: bool
) -> None:
    """`make template-update` with the defaults keeps a project without docs as it was (a
    question added later keeps what the project is); with `-d use_docs=true` it adds the site,
    its group and its targets, and `make docs` builds; a docs/index.md the team had is a
    conflict reported, its text kept."""
    source = release_before_docs(history)
    project = Renderer(copie, history).render("defaults", vcs_ref=source)
    assert "use_docs" not in project.answers
    project.make("setup")
    if own_index:
        (project.path / "docs").mkdir()
        (project.path / "docs" / "index.md").write_text(OWN_INDEX)
    project.commit("Initial project")

    answers = " -d use_docs=true" if opt_in else ""
    result = project.make(
        "template-update", f"COPIER_ARGS=--defaults --vcs-ref=HEAD{answers}", check=False
    )
    said = output(result)
    assert project.answers["use_docs"] is opt_in
    if not opt_in:
        assert result.returncode == 0, said
        assert not (project.path / "docs").exists()
        assert not (project.path / "specs").exists()
        assert not {"docs", "docs-serve", "specs"} & set(project.help_targets())
        return
    assert (project.path / "docs" / "conf.py").is_file()
    assert {"docs", "docs-serve"} <= set(project.help_targets())
    index = (project.path / "docs" / "index.md").read_text()
    if not own_index:
        assert result.returncode == 0, said
        make_docs(project)
        assert reference_modules(project) == expected_modules(project)
        return
    assert result.returncode != 0, said
    assert "template-update: conflict: docs/index.md" in said, said
    assert OWN_INDEX.strip() in index  # nothing of the team's lost ...
    assert "```{toctree}" in index  # ... and the template's side is there to merge
    check = project.make("check", check=False)
    assert "docs/index.md: conflict left by a template update or merge" in check.stderr
