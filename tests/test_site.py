"""The template's own site: `make docs` builds it strictly, with the questions, variants and
Makefile targets pages generated from copier.yml and renders; `make docs-serve` serves it."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pytest

from helpers import ROOT, clean_env, copy_template, load_extension, output, run
from project import QUESTIONS, VARIANTS, Project, Renderer

# The generator (docs/_ext), as docs/conf.py imports it: its sample project name is this
# module's too, so that paths and targets read the same.
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from template_facts.renders import SAMPLE_NAME

# The site's sources: its pages, and the changelog page's include.
SOURCES = ("docs", "CHANGELOG.md")

# The tests of the built site share it: one worker builds it, once.
on_the_site = pytest.mark.xdist_group("site")


@dataclass(frozen=True)
class Site:
    """A build of the site: its sources (a copy of docs/), its HTML, what it printed."""

    docs: Path
    html: Path
    output: str
    seconds: float

    def text(self, page: str) -> str:
        """The words of a page's article, as a reader sees them, on one line."""
        return text_of(article(self.html / f"{page}.html"))


def article(page: Path) -> str:
    """The HTML of a page's article (Furo's main content)."""
    body = page.read_text(encoding="utf-8")
    return body[body.index("<article") : body.index("</article>")]


def text_of(markup: str) -> str:
    """HTML as words: blocks apart, inline markup dropped, entities read, whitespace collapsed."""
    blocks = re.sub(r"</(?:p|li|td|th|h[1-6]|div|pre|tr|dt|dd|section)>|<br ?/?>", " ", markup)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", blocks)).split())


def make_docs(docs: Path, build: Path, template: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the root Makefile's `make docs` on the pages in `docs`, for the template `template`."""
    variables = [f"DOCS={docs}", f"DOCS_BUILD={build}", f"SPHINXOPTS=-D template_root={template}"]
    return run(["make", "docs", *variables], ROOT, check=False)


def copy_site(source: Path, dest: Path, *, generated: bool = True) -> Path:
    """Copy the site's sources from the folder `source` into `dest`; return the pages' copy.

    Without `generated`, what a build generated in them stays out.
    """
    skipped = ("__pycache__", "_build") if generated else ("__pycache__", "_build", "_generated")
    for name in SOURCES:
        if (source / name).is_dir():
            shutil.copytree(source / name, dest / name, ignore=shutil.ignore_patterns(*skipped))
        else:
            shutil.copy2(source / name, dest / name)
    return dest / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The site built once by `make docs`, from a copy of docs/ without generated pages, so
    that every render happens here and the working tree is left alone."""
    base = tmp_path_factory.mktemp("site")
    docs = copy_site(ROOT, base, generated=False)
    started = time.monotonic()
    result = make_docs(docs, base / "build")
    seconds = time.monotonic() - started
    print(f"make docs, renders included: {seconds:.1f} s")
    assert result.returncode == 0, output(result)
    return Site(docs, base / "build" / "html", output(result), seconds)


@pytest.fixture(scope="module")
def sample(renderer: Renderer) -> dict[str, Project]:
    """Renders made here, as the generator makes its own: the defaults and a few answers."""
    base = {"project_name": SAMPLE_NAME}
    answers: dict[str, dict[str, Any]] = {
        "defaults": {},
        "no-docker": {"use_docker": False},
        "library": {"project_type": "library"},
        "no-services": {"services": []},
    }
    return {name: renderer.render("defaults", base=base, **a) for name, a in answers.items()}


def files(project: Project) -> set[str]:
    """A project's files, relative, as the pages name them."""
    return {path.relative_to(project.path).as_posix() for path in project.files()}


def effect(defaults: Project, other: Project) -> str:
    """What the questions page says an answer adds and removes, computed from two renders."""
    added, removed = sorted(files(other) - files(defaults)), sorted(files(defaults) - files(other))
    parts = [f"adds {', '.join(added)}"] if added else []
    parts += [f"removes {', '.join(removed)}"] if removed else []
    return "; ".join(parts)


@pytest.mark.slow
@on_the_site
def test_the_site_builds_strictly_with_every_page(site: Site) -> None:
    assert "WARNING" not in site.output
    assert "ERROR" not in site.output
    pages = {p.relative_to(site.docs).with_suffix("") for p in site.docs.rglob("*.md")}
    pages -= {p for p in pages if p.parts[0] in {"_generated", "_ext"}}
    for page in pages:  # each page is in a toctree, or the build would have warned
        assert (site.html / page.with_suffix(".html")).is_file(), page
    assert (site.docs / "_generated" / ".inputs").is_file()


@pytest.mark.slow
@on_the_site
def test_the_questions_page_has_every_question_with_its_help(site: Site) -> None:
    page = site.text("questions")
    limits = load_extension().ANSWER_LIMITS
    questions = {name: q for name, q in QUESTIONS.items() if not name.startswith("_")}
    assert "use_docs" in questions  # a question added lately, with no special case anywhere
    for name, question in questions.items():
        assert f'id="question-{name.replace("_", "-")}"' in article(site.html / "questions.html")
        if question.get("when") is False:
            continue
        help_text = jinja2.Template(question["help"]).render(answer_limits=limits)
        assert " ".join(help_text.replace("`", "").split()) in page, name


@pytest.mark.slow
@on_the_site
def test_the_questions_page_has_the_files_each_answer_changes(
    site: Site, sample: dict[str, Project]
) -> None:
    page = site.text("questions")
    defaults = sample["defaults"]
    no_docker = effect(defaults, sample["no-docker"])
    assert "removes" in no_docker
    assert "Dockerfile" in no_docker
    assert f"false: {no_docker}" in page
    assert f"library: {effect(defaults, sample['library'])}" in page
    assert f"[]: {effect(defaults, sample['no-services'])}" in page
    # A combination the validator refuses, with the validator's own message.
    message = "Celery needs Redis as its broker: select Redis too, or leave Celery out."
    assert f'["celery"]: refused by services: {message}' in page


def test_a_question_without_help_fails_the_build_naming_it(tmp_path: Path) -> None:
    template = copy_template(tmp_path / "template")
    with (template / "copier.yml").open("a", encoding="utf-8") as copier_yml:
        copier_yml.write("\nundocumented:\n  type: bool\n  default: false\n")
        copier_yml.write("\nhidden_too:\n  type: bool\n  default: false\n  when: false\n")
    result = make_docs(template / "docs", tmp_path / "build", template)
    assert result.returncode != 0
    named = [line for line in output(result).splitlines() if "undocumented" in line]
    assert len(named) == 1, output(result)
    assert named[0].endswith(
        "WARNING: copier.yml: question 'undocumented' has no help: give it a `help:` line, "
        "which the questions page shows"
    )
    assert "hidden_too" not in output(result)  # never asked: nothing to document


@pytest.mark.slow
@on_the_site
def test_a_broken_internal_link_fails_the_build(site: Site, tmp_path: Path) -> None:
    docs = copy_site(site.docs.parent, tmp_path)
    with (docs / "quickstart.md").open("a", encoding="utf-8") as page:
        page.write("\n[gone](no-such-page.md) and [no heading](questions.md#no-such-heading)\n")
    result = make_docs(docs, tmp_path / "build")
    assert result.returncode != 0
    warnings = [line for line in output(result).splitlines() if "WARNING" in line]
    assert any("quickstart.md" in line and "no-such-page" in line for line in warnings)
    assert any("quickstart.md" in line and "no-such-heading" in line for line in warnings)


def tree_files(block: str) -> set[str]:
    """The files a drawn tree holds (directories end with `/`), as relative paths."""
    found: set[str] = set()
    parents: list[str] = []
    for line in block.splitlines()[1:]:  # the first line is the project's folder
        match = re.match(r"^((?:│   |    )*)[├└]── (.+)$", line)
        assert match, line
        depth = len(match[1]) // 4
        parents[depth:] = [match[2].rstrip("/")]
        if not match[2].endswith("/"):
            found.add("/".join(parents))
    return found


@pytest.mark.slow
@on_the_site
def test_the_variants_page_has_every_variant_and_its_tree(
    site: Site, sample: dict[str, Project]
) -> None:
    markup = article(site.html / "variants.html")
    for name in VARIANTS:
        assert f'id="variant-{name}"' in markup, name
    trees = re.findall(r"<pre>(.*?)</pre>", markup, re.DOTALL)
    assert len(trees) == len(VARIANTS)
    drawn = dict(zip(VARIANTS, trees, strict=True))
    defaults = html.unescape(re.sub(r"<[^>]+>", "", drawn["defaults"]))
    assert tree_files(defaults) == files(sample["defaults"])


def listed_targets(markup: str, section: str) -> dict[str, str]:
    """The targets and descriptions a section of the project page lists in its tables."""
    start = markup.index(f'<section id="{section}">')
    part = markup[start : markup.find("<section id=", start + 1)]
    rows = re.findall(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>", part, re.DOTALL)
    return {text_of(target): text_of(description) for target, description in rows}


@pytest.mark.slow
@on_the_site
def test_the_targets_are_what_make_help_lists(site: Site, sample: dict[str, Project]) -> None:
    markup = article(site.html / "project.html")
    for section, project in (("the-defaults-a-service", "defaults"), ("a-library", "library")):
        listed = listed_targets(markup, section)
        assert listed == sample[project].help_targets()
        assert f"{len(listed)} targets." in text_of(markup)


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@on_the_site
def test_make_docs_serve_serves_the_index(site: Site, tmp_path: Path) -> None:
    docs = copy_site(site.docs.parent, tmp_path)
    port = free_port()
    variables = [f"DOCS={docs}", f"DOCS_BUILD={tmp_path / 'build'}", f"DOCS_PORT={port}"]
    variables += [f"SPHINXOPTS=-D template_root={ROOT}"]
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            ["make", "docs-serve", *variables],
            cwd=ROOT,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: make, sphinx-autobuild, sphinx
        )
    try:
        body, deadline = "", time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    body = page.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert "copier-enterprise-python" in body, log.read_text()
        assert "Quick start" in body
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
