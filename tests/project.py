"""A rendered project, and the renderer that makes one with pytest-copie.

The variants come from tests/variants.yml. Tests read every answer back from a render's
.copier-answers.yml (`Project.answers`), so a default changed in copier.yml is never retyped here.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from plumbum import local
from pytest_copie.plugin import Copie, Result

from helpers import ROOT, clean_env, commit_all, git, run

# Fixed identity, so renders do not depend on the machine's git config.
BASE_ANSWERS: dict[str, Any] = {
    "project_name": "Acme Billing",
    "author_name": "Acme Developers",
    "author_email": "dev@acme.example.com",
    "github_owner": "acme",
}

QUESTIONS: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
# Every question whose answer is typed text (a string without choices), in copier.yml's order.
FREE_TEXT: tuple[str, ...] = tuple(
    name
    for name, question in QUESTIONS.items()
    if not name.startswith("_") and question.get("type") == "str" and "choices" not in question
)
# Every backing service copier.yml offers, for tests of the full stack.
ALL_SERVICES: list[str] = list(QUESTIONS["services"]["choices"].values())
# A target and its description, as `make help` lists them.
HELP_LINE = re.compile(r"^  (?P<target>[a-z][a-z0-9-]*) +(?P<description>\S.*)$")

VARIANTS: dict[str, dict[str, Any]] = yaml.safe_load(
    (ROOT / "tests" / "variants.yml").read_text(encoding="utf-8")
)


@dataclass(frozen=True)
class Project:
    """A rendered project: where it is, what copier recorded, and ways to run things in it."""

    path: Path

    @property
    def answers(self) -> dict[str, Any]:
        """The answers of .copier-answers.yml now; a question that was not asked is absent."""
        text = (self.path / ".copier-answers.yml").read_text(encoding="utf-8")
        recorded: dict[str, Any] = yaml.safe_load(text)
        return recorded

    def on(self, question: str) -> bool:
        """Whether `question` was answered yes (one that was not asked counts as no)."""
        return bool(self.answers.get(question, False))

    @property
    def package(self) -> str:
        """The import name of the package under src/."""
        return str(self.answers["package_name"])

    @property
    def is_service(self) -> bool:
        """Whether the project is a service (not a library)."""
        return bool(self.answers["project_type"] == "service")

    @property
    def services(self) -> list[str]:
        """The backing services chosen (none for a library)."""
        return list(self.answers.get("services", []))

    def skip_unless(self, question: str) -> None:
        """Skip the test unless `question` was answered yes: this variant has nothing to test."""
        if not self.on(question):
            pytest.skip(f"{question} is off in this variant")

    def files(self) -> list[Path]:
        """The rendered files, without what git init and setup add."""
        return sorted(
            path
            for path in self.path.rglob("*")
            if path.is_file() and not {".git", ".venv"} & set(path.relative_to(self.path).parts)
        )

    def run(
        self,
        command: list[str],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        input: str | None = None,  # as subprocess.run names it
    ) -> subprocess.CompletedProcess[str]:
        """Run `command` in the project, as if typed at a prompt; `env` adds variables."""
        return run(command, self.path, env=clean_env(**(env or {})), check=check, input=input)

    def make(
        self,
        *args: str,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        input: str | None = None,  # as subprocess.run names it
    ) -> subprocess.CompletedProcess[str]:
        """Run the project's make with `args`; `env` adds variables to the environment."""
        return self.run(["make", *args], check=check, env=env, input=input)

    def help_targets(self) -> dict[str, str]:
        """The targets `make help` lists, with their descriptions."""
        lines = self.make("help").stdout.splitlines()
        return {m["target"]: m["description"] for m in map(HELP_LINE.match, lines) if m}

    def git(self, *args: str, check: bool = True) -> str:
        """Run git in the project; return its stdout."""
        return git(self.path, *args, check=check)

    def commit(self, message: str = "Initial commit") -> None:
        """Commit everything, unsigned and without the project's hooks."""
        commit_all(self.path, message)

    def tool(self, name: str) -> str:
        """The path of a program in the project's .venv."""
        return str(self.path / ".venv" / "bin" / name)


@contextlib.contextmanager
def prompt_environment() -> Iterator[None]:
    """Run copier's tasks in a prompt's environment (`clean_env`) instead of the test's.

    Copier runs its tasks with plumbum's copy of the environment, taken when plumbum was
    imported, so that copy is the one to replace (it is restored on exit).
    """
    with local.env():
        local.env.clear()
        local.env.update(clean_env())
        yield


def checked(result: Result) -> Path:
    """The project a pytest-copie result made, or the error copier raised."""
    if result.exception is not None:
        raise result.exception
    assert result.project_dir is not None
    return Path(result.project_dir)


@dataclass
class Renderer:
    """Renders a template (the working tree by default: HEAD and uncommitted changes)."""

    copie: Copie
    template: Path = ROOT
    _variants: dict[tuple[str, bool], Project] = field(default_factory=dict)

    def render(
        self,
        variant: str = "defaults",
        *,
        setup: bool = False,
        base: Mapping[str, Any] = BASE_ANSWERS,
        vcs_ref: str = "HEAD",
        **answers: Any,
    ) -> Project:
        """Render `variant` with `answers` on top; `setup` runs the setup as `copier copy` does.

        The setup runs in the environment of a prompt (`clean_env`), not in the test's.
        `vcs_ref` renders another commit or release of the template.
        """
        data = {**base, **VARIANTS[variant], **answers, "skip_setup": not setup}
        with prompt_environment() if setup else contextlib.nullcontext():
            result = self.copie.copy(
                extra_answers=data, template_dir=self.template, vcs_ref=vcs_ref
            )
        return Project(checked(result))

    # The `render` fixture is a Renderer, called as render("library", setup=True).
    __call__ = render

    def variant(self, name: str, *, setup: bool = False) -> Project:
        """`name` rendered once, for every test that asks for it."""
        key = (name, setup)
        if key not in self._variants:
            self._variants[key] = self.render(name, setup=setup)
        return self._variants[key]

    def update(self, project: Project, **answers: Any) -> Project:
        """`copier update` the project to the template's HEAD, with `answers` changed."""
        data = {"skip_setup": True, **answers}
        result = self.copie.update(Result(project_dir=project.path), extra_answers=data)
        return Project(checked(result))


@dataclass(frozen=True)
class TemplateRepo:
    """A copy of the working tree as a template repository, with its releases as tags."""

    path: Path
    renderer: Renderer

    def release(self, tag: str, file: str, old: str, new: str) -> None:
        """Change `old` into `new` in the template's `file`, commit, and tag the result."""
        path = self.path / "template" / file
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in {file}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        commit_all(self.path, tag)
        git(self.path, "tag", tag)

    def remove(self, tag: str, *files: str) -> None:
        """Remove the template's `files`, commit, and tag the result."""
        git(self.path, "rm", "-q", *(f"template/{file}" for file in files))
        commit_all(self.path, tag)
        git(self.path, "tag", tag)
