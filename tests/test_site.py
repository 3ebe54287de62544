"""The template's own site: `make docs` builds it strictly, with the questions, variants and
Makefile targets pages generated from copier.yml and renders; `make docs-serve` serves it."""

from __future__ import annotations

import html
import re
import shutil
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
import yaml

from helpers import (
    ROOT,
    background,
    clean_env,
    copy_template,
    free_port,
    git,
    load_extension,
    output,
    run,
)
from project import QUESTIONS, VARIANTS, Project, Renderer

# The generator (docs/_ext), as docs/conf.py imports it: its sample project name is this
# module's too, so that paths and targets read the same.
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import template_facts
from template_facts.questions import QuestionError, load
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


def add_questions(template: Path, text: str) -> None:
    """Append `text`, questions in YAML, to the copier.yml of a copy of the template."""
    with (template / "copier.yml").open("a", encoding="utf-8") as copier_yml:
        copier_yml.write(text)


def failed_warnings(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The WARNING lines of a `make docs` that must have failed."""
    assert result.returncode != 0
    return [line for line in output(result).splitlines() if "WARNING" in line]


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
    for name in ("questions", "variants"):  # the note for GitHub's readers is a MyST comment
        assert "On GitHub" in (site.docs / f"{name}.md").read_text()
        assert "On GitHub" not in site.text(name)


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
        # As copier prints it: its backticks are no Markdown there, nor here.
        help_text = jinja2.Template(question["help"]).render(answer_limits=limits)
        assert " ".join(help_text.split()) in page, name


def question_section(markup: str, name: str) -> str:
    """The HTML of one question's section of the questions page."""
    start = markup.index(f'<section id="question-{name.replace("_", "-")}">')
    return markup[start : markup.index("</section>", start)]


def answer_effects(markup: str, name: str) -> list[str]:
    """The items of a question's "Files, against the defaults" list, each whole, as words."""
    section = question_section(markup, name)
    files = section[section.index("Files, against the defaults") :]
    return [text_of(item) for item in re.findall(r"<li><p>(.*?)</p></li>", files, re.DOTALL)]


@pytest.mark.slow
@on_the_site
def test_the_questions_page_has_the_files_each_answer_changes(
    site: Site, sample: dict[str, Project]
) -> None:
    markup = article(site.html / "questions.html")
    defaults = sample["defaults"]
    no_docker = effect(defaults, sample["no-docker"])
    assert "removes" in no_docker
    assert "Dockerfile" in no_docker
    assert answer_effects(markup, "use_docker") == [f"false: {no_docker}"]
    assert f"library: {effect(defaults, sample['library'])}" in answer_effects(
        markup, "project_type"
    )
    services = answer_effects(markup, "services")
    assert f"[]: {effect(defaults, sample['no-services'])}" in services
    # A combination the validator refuses, with the validator's own message.
    message = "Celery needs Redis as its broker: select Redis too, or leave Celery out."
    assert f'["celery"]: refused by services: {message}' in services


def template_copy(dest: Path, *, repository: bool = False) -> Path:
    """A copy of the template without the pages a build generated; with `repository`, in a
    git repository of its own (the renders need one), its files committed."""
    template = copy_template(dest)
    shutil.rmtree(template / "docs" / "_generated", ignore_errors=True)
    if repository:
        git(template, "init", "-q", "-b", "main")
        git(template, "add", "-A")
        git(template, "commit", "-q", "--no-verify", "-m", "the template")
    return template


def defaults_only(template: Path) -> None:
    """Make the defaults the copy's one variant: its build renders them before any answer."""
    (template / "tests" / "variants.yml").write_text("defaults: {}\n", encoding="utf-8")


def ask_only(template: Path, *asked: str) -> None:
    """Hide every question of the copy's copier.yml but `asked` (`when: false`: copier renders
    with its default, the generator tries no other answer) and keep the defaults as its one
    variant: a build renders the defaults and the other answers of `asked`, not every set."""
    config = template / "copier.yml"
    questions: dict[str, Any] = yaml.safe_load(config.read_text(encoding="utf-8"))
    for name, question in questions.items():
        if not name.startswith("_") and name not in asked:
            question["when"] = False
    config.write_text(yaml.safe_dump(questions, sort_keys=False), encoding="utf-8")
    defaults_only(template)


def test_a_question_without_help_fails_the_build_naming_it(tmp_path: Path) -> None:
    template = template_copy(tmp_path / "template")
    add_questions(template, "\nundocumented:\n  type: bool\n  default: false\n")
    add_questions(template, "\nhidden_too:\n  type: bool\n  default: false\n  when: false\n")
    result = make_docs(template / "docs", tmp_path / "build", template)
    warnings = failed_warnings(result)
    named = [line for line in output(result).splitlines() if "undocumented" in line]
    assert len(named) == 1, output(result)
    assert named[0].endswith(
        "WARNING: copier.yml: question 'undocumented' has no help: give it a `help:` line, "
        "which the questions page shows"
    )
    assert "hidden_too" not in output(result)  # never asked: nothing to document
    # No render was tried: the copy has no .git, so one would have warned that it needs one.
    assert warnings == named
    generated = template / "docs" / "_generated"
    assert not (generated / template_facts.STAMP).exists()
    assert (generated / "variants.md").read_text() == template_facts.NOT_GENERATED


def test_a_question_without_help_stops_the_generator_before_any_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = small_template(tmp_path, "undocumented:\n  type: bool\n  default: false\n")

    def no_render(*args: object) -> object:
        raise AssertionError("rendered, or digested what renders read, for a page that fails")

    monkeypatch.setattr(template_facts, "render_all", no_render)
    monkeypatch.setattr(template_facts, "inputs_digest", no_render)
    out = tmp_path / "docs" / "_generated"
    template_facts.generate_into(root, out)
    assert "undocumented" in (out / "questions.md").read_text()
    assert not (out / template_facts.STAMP).exists()


def small_template(root: Path, questions: str) -> Path:
    """A template at `root` with the questions `questions` (YAML) and the real extension."""
    (root / "extensions").mkdir(parents=True)
    shutil.copy2(ROOT / "extensions" / "context.py", root / "extensions" / "context.py")
    (root / "copier.yml").write_text(f"_subdirectory: template\n{questions}", encoding="utf-8")
    return root


# Two questions of both CHOICE_FORMS and HOSTILE: choices that map labels to values (one
# disabled by its validator), and choices copier renders when it asks.
EXTENDED = """
extended:
  type: str
  help: Label to a value, or to a value and a validator
  choices:
    Open:
      value: open
    Closed:
      value: closed
      validator: "{% if true %}Closed is not offered yet{% endif %}"
  default: open
"""
COMPUTED = """
computed:
  type: str
  help: Rendered when asked
  choices: "{{ ['x', 'y'] }}"
  default: x
"""


# The forms of choices copier takes (copier/_user_data.py, Question._formatted_choices).
CHOICE_FORMS = (
    """
listed:
  type: str
  help: A list
  choices: [one, 2]
  default: one
pairs:
  type: str
  help: Pairs
  choices: [["**Label** <i>A</i>", alpha], [Label B, beta]]
  default: alpha
"""
    + EXTENDED
    + """yaml_text:
  type: str
  help: YAML in a string
  choices: "[x, y]"
  default: x
"""
    + COMPUTED
    + """several:
  type: str
  help: A multi-select of pairs
  multiselect: true
  choices: [[First, a], [Second, b]]
  default: [a]
"""
)


def test_choices_are_read_in_every_form_copier_takes(tmp_path: Path) -> None:
    questions = {q.name: q for q in load(small_template(tmp_path, CHOICE_FORMS))}
    assert questions["listed"].choices == {"one": "one", "2": 2}
    assert questions["pairs"].choices == {"**Label** <i>A</i>": "alpha", "Label B": "beta"}
    assert questions["extended"].choices == {"Open": "open", "Closed": "closed"}
    assert questions["yaml_text"].choices == {"x": "x", "y": "y"}
    assert questions["computed"].choices == {}
    assert questions["computed"].choices_expression == "{{ ['x', 'y'] }}"
    recorded = {name: question.default for name, question in questions.items()}
    others = {q: template_facts.other_answers(questions[q], recorded) for q in questions}
    assert others["listed"] == [{"listed": 2}]
    assert others["extended"] == [{"extended": "closed"}]
    assert others["computed"] == []  # known only when copier asks
    assert others["several"] == [{"several": []}, {"several": ["b"]}]


@pytest.mark.parametrize(
    ("choices", "said"),
    [
        ("7", "make its choices a list or a mapping"),
        ("[[a, b, c]]", "make ['a', 'b', 'c'] a [label, value] pair"),
        ("{Open: {validator: no}}", "give choice 'Open' a `value`"),
    ],
)
def test_choices_copier_refuses_are_named(tmp_path: Path, choices: str, said: str) -> None:
    root = small_template(tmp_path, f"odd:\n  type: str\n  help: Odd\n  choices: {choices}\n")
    with pytest.raises(QuestionError) as raised:
        load(root)
    assert str(raised.value) == f"copier.yml: question 'odd': {said}"


def test_a_generator_failure_is_one_warning_line_without_a_traceback(tmp_path: Path) -> None:
    template = template_copy(tmp_path / "template")
    add_questions(template, "\nodd:\n  type: str\n  help: Odd\n  choices: {Open: {validator: x}}\n")
    result = make_docs(template / "docs", tmp_path / "build", template)
    warnings = failed_warnings(result)
    assert len(warnings) == 1, output(result)
    assert warnings[0].endswith(
        "WARNING: template_facts: the pages were not generated: copier.yml: question 'odd': "
        "give choice 'Open' a `value`"
    )
    assert "Traceback" not in output(result)
    assert "Extension error" not in output(result)


@pytest.mark.slow
def test_a_failing_default_names_its_question(tmp_path: Path) -> None:
    template = template_copy(tmp_path / "template", repository=True)
    defaults_only(template)  # the one render that fails, not one per variant
    add_questions(
        template, '\nbroken:\n  type: str\n  help: Broken\n  default: "{{ nope.attr }}"\n'
    )
    result = make_docs(template / "docs", tmp_path / "build", template)
    warnings = failed_warnings(result)
    assert len(warnings) == 1, output(result)
    assert warnings[0].endswith(
        "WARNING: template_facts: the pages were not generated: rendering the defaults failed "
        "at question 'broken' of copier.yml: 'nope' is undefined"
    )
    assert "Traceback" not in output(result)


@pytest.mark.slow
@on_the_site
def test_a_broken_internal_link_fails_the_build(site: Site, tmp_path: Path) -> None:
    docs = copy_site(site.docs.parent, tmp_path)
    with (docs / "quickstart.md").open("a", encoding="utf-8") as page:
        page.write("\n[gone](no-such-page.md) and [no heading](questions.md#no-such-heading)\n")
    warnings = failed_warnings(make_docs(docs, tmp_path / "build"))
    assert any("quickstart.md" in line and "no-such-page" in line for line in warnings)
    assert any("quickstart.md" in line and "no-such-heading" in line for line in warnings)


def test_the_renders_key_has_every_file_copier_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copier's clone of a dirty template reads only the .gitignore files: a file ignored
    by .git/info/exclude or by git config's excludes file is rendered, so it is in the key."""
    root = tmp_path / "template"
    (root / "template").mkdir(parents=True)
    for name in ("kept.txt", "info-excluded.txt", "globally-excluded.txt", "ignored.txt"):
        (root / "template" / name).write_text("one\n")
    (root / ".gitignore").write_text("template/ignored.txt\n")
    git(root, "init", "-q")
    (root / ".git" / "info" / "exclude").write_text("template/info-excluded.txt\n")
    (tmp_path / "excludes").write_text("template/globally-excluded.txt\n")
    (tmp_path / "gitconfig").write_text(f"[core]\n\texcludesFile = {tmp_path / 'excludes'}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    assert git(root, "status", "--porcelain", "--untracked-files=all").split() == [
        "??",
        ".gitignore",
        "??",
        "template/kept.txt",
    ]  # git itself ignores all three
    digest = template_facts.inputs_digest(root)
    for name in ("kept.txt", "info-excluded.txt", "globally-excluded.txt"):
        (root / "template" / name).write_text("two\n")
        assert template_facts.inputs_digest(root) != digest, name
        digest = template_facts.inputs_digest(root)
    (root / "template" / "ignored.txt").write_text("two\n")  # copier leaves it out too
    assert template_facts.inputs_digest(root) == digest


# Questions a review found the generator broke on, or printed as markup: appended to a copy.
HOSTILE = (
    """
pairs:
  type: str
  help: |-
    # Not a heading
    <b>not bold</b> and *not emphasis*
    - not a list item
    1. not a numbered item
    % not a comment
  choices: [["**Label** <i>A</i>", alpha], [Label B, beta]]
  default: alpha
"""
    + EXTENDED
    + COMPUTED
)


def stamp_of(docs: Path) -> tuple[int, int, str]:
    """The inputs stamp's inode, time and digest: each build that renders writes it anew."""
    stamp = docs / "_generated" / template_facts.STAMP
    return stamp.stat().st_ino, stamp.stat().st_mtime_ns, stamp.read_text()


@pytest.mark.slow
def test_the_pages_follow_the_template_and_show_its_text_as_written(tmp_path: Path) -> None:
    template = template_copy(tmp_path / "template", repository=True)
    # The renders this reads: the hostile questions' answers, and the targets page's defaults
    # and library (project_type); project_name is required, project_slug tops the tree drawn.
    ask_only(template, "project_name", "project_slug", "project_type")
    add_questions(template, HOSTILE)
    docs, build = template / "docs", tmp_path / "build"
    result = make_docs(docs, build, template)
    assert result.returncode == 0, output(result)
    markup = article(build / "html" / "questions.html")

    # Every form of choices copier takes; the validator of a disabled one refuses it.
    pairs = question_section(markup, "pairs")
    assert "alpha (**Label** <i>A</i>), beta (Label B)" in text_of(pairs)
    assert answer_effects(markup, "pairs") == ["beta: no file added or removed"]
    assert answer_effects(markup, "extended") == [
        "closed: refused by extended: Closed is not offered yet"
    ]
    computed = question_section(markup, "computed")
    assert "Choices: rendered when asked, from {{ ['x', 'y'] }}" in text_of(computed)
    assert "Files, against the defaults" not in computed

    # The help as copier prints it, line by line: no markup, and the list of facts apart.
    heading = re.search(r"<h[1-6][^>]*>(?:(?!</h[1-6]>).)*Not a heading", markup, re.DOTALL)
    assert heading is None
    assert "<b>" not in pairs
    assert "<em>" not in pairs
    assert "<i>" not in pairs
    assert "<ol" not in pairs
    assert "&lt;b&gt;not bold&lt;/b&gt;" in pairs
    help_text = text_of(pairs[: pairs.index("<ul")])
    assert help_text.endswith(
        "# Not a heading <b>not bold</b> and *not emphasis* - not a list item "
        "1. not a numbered item % not a comment"
    )
    assert pairs[: pairs.index("<ul")].count("<br />") == 4
    first = re.search(r"<ul[^>]*>\s*<li><p>(.*?)</p>", pairs, re.DOTALL)
    assert first is not None
    assert text_of(first[1]) == "Type: str"

    # Built again unchanged: nothing rendered, nothing generated anew.
    generated = {p: p.read_bytes() for p in (docs / "_generated").iterdir()}
    stamp = stamp_of(docs)
    result = make_docs(docs, build, template)
    assert result.returncode == 0, output(result)
    assert stamp_of(docs) == stamp
    assert {p: p.read_bytes() for p in (docs / "_generated").iterdir()} == generated

    # A target's `## description` changed in the template: the targets page says the new one.
    makefile = template / "template" / "Makefile.jinja"
    before = makefile.read_text(encoding="utf-8")
    line = re.search(r"^coverage-html:.*## (.+)$", before, re.MULTILINE)
    assert line is not None
    edited = "Write the coverage report as HTML (edited in a test)"
    makefile.write_text(before.replace(line[0], line[0].replace(line[1], edited)))
    result = make_docs(docs, build, template)
    assert result.returncode == 0, output(result)
    assert stamp_of(docs)[2] != stamp[2]
    project = article(build / "html" / "project.html")
    for section in ("the-defaults-a-service", "a-library"):
        assert listed_targets(project, section)["coverage-html"] == edited


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


def served(url: str, expected: str, seconds: float = 120) -> str:
    """Fetch `url` until it holds `expected` or `seconds` pass; return it."""
    body, deadline = "", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as page:  # noqa: S310 # http, local
                body = page.read().decode()
        except (urllib.error.URLError, ConnectionError):
            pass
        if expected in body:
            break
        time.sleep(0.5)
    return body


@pytest.mark.slow
@on_the_site
def test_make_docs_serve_serves_the_site_and_rebuilds_it_on_a_change(
    site: Site, tmp_path: Path
) -> None:
    docs = copy_site(site.docs.parent, tmp_path)
    port = free_port()
    variables = [f"DOCS={docs}", f"DOCS_BUILD={tmp_path / 'build'}", f"DOCS_PORT={port}"]
    variables += [f"SPHINXOPTS=-D template_root={ROOT}"]
    # Its own process group: make, sphinx-autobuild and sphinx stop together.
    command = ["make", "docs-serve", *variables]
    with background(command, ROOT, clean_env(), tmp_path / "serve.log") as log:
        body = served(f"http://127.0.0.1:{port}/", "Quick start")
        assert "copier-enterprise-python" in body, log.read_text()
        assert "Quick start" in body, log.read_text()
        # A page edited while it serves: the served page says the new text (in a bounded time).
        with (docs / "quickstart.md").open("a", encoding="utf-8") as page:
            page.write("\nA line added while the site is served.\n")
        body = served(f"http://127.0.0.1:{port}/quickstart.html", "added while")
        assert "A line added while the site is served." in body, log.read_text()
