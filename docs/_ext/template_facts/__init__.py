"""Pages of the template's site generated from the source of truth, at build time.

Before Sphinx reads the pages, this writes Markdown fragments into `_generated/` (gitignored)
that hand-written pages pull in with MyST's `{include}`: the questions of copier.yml, the file
tree of each variant of tests/variants.yml and `make help` of a service and a library, the
files an answer adds or removes found by rendering the template. The renders take about half a
minute, so they run again only when what they read changed (`_generated/.inputs`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess  # nosec B404 # git ls-files, a fixed argument list, no shell
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from sphinx.application import Sphinx
from sphinx.util import logging

from .questions import EXPRESSION, JINJA, Question, QuestionError, load, problems
from .renders import SAMPLE_NAME, Render, RenderError, Target, key, render_all

logger = logging.getLogger(__name__)

GENERATED = "_generated"
# What copier takes from the template that no render reads (a change to anything else makes
# the next build render again), and what the generator reads besides.
NOT_RENDERED = ("docs/", "tests/")
RENDER_DATA = ("tests/variants.yml",)
FRAGMENTS = ("questions.md", "variants.md", "targets.md")
# The digest of what the fragments were generated from: written after them, whenever they are.
STAMP = ".inputs"
# The library whose targets the targets page lists: the defaults, but for the project type.
LIBRARY = {"project_type": "library"}
NOT_GENERATED = "*Not generated: the build stopped at the warnings above; fix them first.*\n"


def setup(app: Sphinx) -> dict[str, Any]:
    """Register `template_root` (the template the pages describe) and the generator."""
    app.add_config_value("template_root", "", "env", types=frozenset({str}))
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


def generate(app: Sphinx) -> None:
    """Write the fragments, unless the template is what the last build rendered.

    Whatever fails is one warning (the build fails on it), never a traceback.
    """
    root = Path(app.config.template_root or Path(app.confdir).parent).resolve()
    out = Path(app.srcdir) / GENERATED
    try:
        generate_into(root, out)
    except Exception as error:  # any failure: one line, and the build fails on it
        stated = " ".join(str(error).split())
        if not isinstance(error, RenderError | QuestionError):
            stated = f"{type(error).__name__}: {stated}"
        logger.warning(f"template_facts: the pages were not generated: {stated}")
        give_up(out)


def give_up(out: Path) -> None:
    """Leave fragments the pages can include, and nothing that says they are current."""
    (out / STAMP).unlink(missing_ok=True)
    for name in FRAGMENTS:
        if not (out / name).exists():
            write(out / name, NOT_GENERATED)


def generate_into(root: Path, out: Path) -> None:
    """Write the fragments of the template at `root` into `out`, rendering it if it changed."""
    questions = load(root)
    stamp = out / STAMP
    if issues := problems(questions):
        for issue in issues:
            logger.warning(issue)
        # The build fails anyway: no renders, only what copier.yml says, and the next build
        # renders again.
        write(out / "questions.md", questions_page(questions, None))
        give_up(out)
        return
    started = time.monotonic()
    variants: dict[str, dict[str, Any]] = yaml.safe_load(
        (root / "tests" / "variants.yml").read_text(encoding="utf-8")
    )
    digest = inputs_digest(root)
    done = all((out / name).exists() for name in (*FRAGMENTS, STAMP))
    if done and stamp.read_text(encoding="utf-8") == digest:
        return
    stamp.unlink(missing_ok=True)  # written anew once the fragments are
    renders = render_all(root, [{}, *variants.values()], {})
    defaults = renders[key({})]
    if defaults.recorded is None:
        raise RenderError(f"{defaults.refused_by} refused the defaults: {defaults.refused}")
    alternatives = [a for q in questions for a in other_answers(q, defaults.recorded)]
    renders = render_all(root, alternatives, renders)
    write(out / "questions.md", questions_page(questions, renders))
    write(out / "variants.md", variants_page(variants, renders))
    write(out / "targets.md", targets_page(defaults, renders.get(key(LIBRARY))))
    write(stamp, digest)
    logger.info(f"template_facts: {len(renders)} renders in {time.monotonic() - started:.0f} s")


def inputs_digest(root: Path) -> str:
    """Digest what the renders read: the files copier takes (but pages and tests), and this."""
    git = shutil.which("git")
    if git is None:
        raise RenderError("git is not installed: the renders need it (--vcs-ref=HEAD)")
    # What copier's clone of a dirty template may hold: tracked files and any other that no
    # .gitignore ignores (the clone has a .git of its own, so .git/info/exclude is not read
    # there, nor need the excludes file of git config be). A file too many only renders again.
    unignored = ["--cached", "--others", "--exclude-per-directory=.gitignore"]
    listed = subprocess.run(  # nosec B603 # fixed argument list
        [git, "-c", f"core.excludesFile={os.devnull}", "ls-files", "-z", *unignored],
        cwd=root,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if listed.returncode != 0:
        raise RenderError(f"{root} is no git repository: the renders need one (--vcs-ref=HEAD)")
    names = {name for name in listed.stdout.decode().split("\0") if name}
    names = {n for n in names if not n.startswith(NOT_RENDERED)} | set(RENDER_DATA)
    files = [(name, root / name) for name in sorted(names)]
    here = Path(__file__).parent
    files += [(f"generator/{path.name}", path) for path in sorted(here.glob("*.py"))]
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(f"{name}\0".encode())
        if path.is_file():  # a tracked file deleted from the working tree is not rendered
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def write(path: Path, text: str) -> None:
    """Write `text` to `path` whole, unless it holds it already.

    Sphinx re-reads the pages that include a file whose time changed.
    """
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def other_answers(question: Question, recorded: Mapping[str, Any]) -> list[dict[str, Any]]:
    """List the answers to render besides the default one.

    Every other choice; the other bool; for a multi-select, each default member left out,
    each member alone, and none. A typed answer has no others that stand for the rest, and
    choices copier renders from Jinja are known only when it asks.
    """
    if question.hidden or question.name not in recorded or question.choices_expression:
        return []
    default = recorded[question.name]
    options: list[Any]
    if question.multiselect:
        members = [v for v in question.choices.values() if not templated(v)]
        options = [[m for m in default if m != out] for out in default]
        options += [[m] for m in members] + [[]]
    elif question.choices:
        options = [v for v in question.choices.values() if not templated(v)]
    elif question.type == "bool":
        options = [not default]
    else:
        return []
    unique = {key(option): option for option in options if option != default}
    return [{question.name: option} for option in unique.values()]


def templated(value: object) -> bool:
    """Whether copier renders `value` with Jinja (the answers decide what it becomes)."""
    return isinstance(value, str) and JINJA.search(value) is not None


def code(value: object) -> str:
    """Format `value` as inline code (JSON for what is not text), whatever backticks it holds."""
    text = value if isinstance(value, str) else json.dumps(value)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(text: str) -> str:
    """Escape every ASCII punctuation mark of `text`: Markdown reads none of it as markup.

    Not emphasis, HTML, a table's `|`, nor at the start of a line a heading's `#`, a list's `-`
    or `1.`, a quote's `>` or MyST's `%` comment and `(target)=`.
    """
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def inline(text: str) -> str:
    """Show one line of copier.yml's text as written: plain, its Jinja expressions as code."""
    # split() alternates text and the expressions' insides: text at even positions.
    parts = EXPRESSION.split(" ".join(text.split()))
    return "".join(
        code(f"{{{{ {part} }}}}") if index % 2 else plain(part) for index, part in enumerate(parts)
    )


def prose(text: str) -> list[str]:
    """Lay out a help text of copier.yml as Markdown paragraphs that keep its line breaks."""
    paragraphs = [p.splitlines() for p in re.split(r"\n[ \t]*\n", text.strip())]
    lines: list[str] = []
    for paragraph in paragraphs:
        # A backslash at the end of a line breaks it there.
        lines += ["\\\n".join(inline(line) for line in paragraph if line.strip()), ""]
    return lines


def paths(files: Iterable[str]) -> str:
    """Format files as a comma-separated list of code."""
    return ", ".join(code(f) for f in sorted(files))


def changes(render: Render, defaults: Render) -> str:
    """Say what a render adds and removes against the defaults, or who refused it and why."""
    if render.refused:
        return f"refused by {code(render.refused_by)}: {render.refused}"
    added, removed = render.files - defaults.files, defaults.files - render.files
    parts = [f"adds {paths(added)}"] if added else []
    parts += [f"removes {paths(removed)}"] if removed else []
    return "; ".join(parts) or "no file added or removed"


def recorded(render: Render) -> Mapping[str, Any]:
    """Return the answers a render recorded (the defaults' render always has them)."""
    assert render.recorded is not None  # noqa: S101 # nosec B101 # checked after rendering
    return render.recorded


def questions_page(questions: list[Question], renders: Mapping[str, Render] | None) -> str:
    """Write up every question of copier.yml; with `renders`, the files its answers change."""
    lines = [
        "Generated from `copier.yml` at build time. Files were found by rendering the template "
        f"with the defaults (project name {code(SAMPLE_NAME)}), then with each other answer.",
        "",
    ]
    defaults = renders[key({})] if renders is not None else None
    for question in questions:
        lines += [f"(question-{question.name})=", f"### {code(question.name)}", ""]
        lines += prose(question.help) if question.help else ["*No help: never asked.*", ""]
        kind = code(question.type) if question.type else "not stated (copier infers it)"
        lines += [f"- **Type**: {kind}{', several choices' if question.multiselect else ''}"]
        if question.choices:
            choices = [
                code(value) if label == str(value) else f"{code(value)} ({inline(label)})"
                for label, value in question.choices.items()
            ]
            lines += [f"- **Choices**: {', '.join(choices)}"]
        elif question.choices_expression:
            given = code(" ".join(question.choices_expression.split()))
            lines += [f"- **Choices**: rendered when asked, from {given}"]
        lines += [f"- **Default**: {default_of(question, defaults)}"]
        if question.hidden:
            lines += ["- **Asked**: never (hidden; given with `-d`)"]
        elif question.when is not None:
            lines += [f"- **Asked**: when {code(str(question.when))}"]
        else:
            lines += ["- **Asked**: always"]
        if question.messages:
            lines += ["- **Refused with**:", *(f"  - {inline(m)}" for m in question.messages)]
        if renders is not None and defaults is not None:
            others = other_answers(question, recorded(defaults))
            effects = [
                f"  - {code(answers[question.name])}: {changes(renders[key(answers)], defaults)}"
                for answers in others
            ]
            if effects:
                lines += ["- **Files, against the defaults**:", *effects]
        lines += [""]
    return "\n".join(lines)


def default_of(question: Question, defaults: Render | None) -> str:
    """Give the default as copier.yml states it, and its value when it is an expression."""
    if question.default is None:
        return "none: the answer is required"
    stated = code(question.default)
    came = recorded(defaults).get(question.name) if defaults is not None else None
    if isinstance(question.default, str) and "{" in question.default and came is not None:
        return f"{stated}; for {code(SAMPLE_NAME)}, {code(came)}"
    return stated


def tree(files: Iterable[str], top: str) -> Iterator[str]:
    """Draw files as a tree, as the `tree` command does."""
    nested: dict[str, Any] = {}
    for path in files:
        node = nested
        for part in path.split("/"):
            node = node.setdefault(part, {})

    def draw(node: dict[str, Any], indent: str) -> Iterator[str]:
        names = sorted(node)
        for index, name in enumerate(names):
            last = index == len(names) - 1
            yield f"{indent}{'└── ' if last else '├── '}{name}{'/' if node[name] else ''}"
            yield from draw(node[name], indent + ("    " if last else "│   "))

    yield f"{top}/"
    yield from draw(nested, "")


def variants_page(variants: Mapping[str, Mapping[str, Any]], renders: Mapping[str, Render]) -> str:
    """Write up each variant of tests/variants.yml: its answers and its file tree."""
    defaults = renders[key({})]
    lines = [
        "Generated from `tests/variants.yml` at build time: each variant rendered with project "
        f"name {code(SAMPLE_NAME)}, without the setup (no `.git`, `.venv` or `uv.lock` yet).",
        "",
    ]
    for name, answers in variants.items():
        render = renders[key(answers)]
        given = ", ".join(f"{code(q)}: {code(a)}" for q, a in answers.items())
        lines += [f"(variant-{name})=", f"### {code(name)}", ""]
        lines += [f"Answers: {given or 'the defaults'}.", ""]
        if render.refused:
            lines += [f"Refused by {code(render.refused_by)}: {render.refused}", ""]
            continue
        if answers:
            lines += [f"Against the defaults: {changes(render, defaults)}.", ""]
        top = recorded(render)["project_slug"]
        lines += [f"{len(render.files)} files:", "", "```text", *tree(render.files, top), "```"]
        lines += [""]
    return "\n".join(lines)


def targets_table(group: str, targets: Iterable[Target]) -> list[str]:
    """Lay out a group of `make help` as a table."""
    lines = [f"**{group}**", "", "| target | what it does |", "| --- | --- |"]
    for target in targets:
        lines += [f"| {code(target.name)} | {plain(target.description)} |"]
    return [*lines, ""]


def targets_page(service: Render, library: Render | None) -> str:
    """Write up `make help` of the defaults (a service) and of a library, as they print it."""
    lines = [
        "Generated at build time from `make help` of two renders of the template, project name "
        f"{code(SAMPLE_NAME)}: the defaults (a service) and the defaults with "
        "`project_type=library`. Other answers list fewer targets: each variant lists only "
        "those that work in it.",
        "",
    ]
    for title, render in (("The defaults: a service", service), ("A library", library)):
        if render is None or render.refused:
            continue
        lines += [f"### {title}", "", f"{len(render.targets)} targets.", ""]
        for group in dict.fromkeys(target.group for target in render.targets):
            lines += targets_table(group, [t for t in render.targets if t.group == group])
    return "\n".join(lines)
