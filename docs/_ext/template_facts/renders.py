"""Renders of the template, to find what an answer changes: its files, and `make help`."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import subprocess  # nosec B404 # make help, a fixed argument list, no shell
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Every render is of this project, so that paths and targets read the same on every page
# (`src/my_project/`, `make docker-build`'s `my-project:latest`).
SAMPLE_NAME = "My Project"
# Two renders at a time: the machines that build the site have two cores.
JOBS = 2
# `make help` answers at once: one that takes a minute is stuck.
TIMEOUT = 60
# A target and its description, as `make help` lists them; a group's name is not indented.
HELP_LINE = re.compile(r"^  (?P<target>[a-z][a-z0-9-]*) +(?P<description>\S.*)$")
# A validator's message, or a disabled choice's (its own validator's).
REFUSED = re.compile(
    r"(?:Validation error for question|Invalid choice for) '(?P<question>\w+)': (?P<message>.*)"
)
# An outer make's variables would change what the project's make prints (`Entering directory`).
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


class RenderError(Exception):
    """A render failed for another reason than a refused answer."""


@dataclass(frozen=True)
class Target:
    """A line of `make help`: its group, the target and what it does."""

    group: str
    name: str
    description: str


@dataclass(frozen=True)
class Render:
    """What one render made, or the message copier refused its answers with."""

    answers: Mapping[str, Any]  # given on top of the defaults
    files: frozenset[str] = frozenset()  # relative paths, with `/`
    recorded: Mapping[str, Any] | None = None  # .copier-answers.yml
    targets: tuple[Target, ...] = ()
    refused: str = ""  # the validator's message
    refused_by: str = ""  # the question whose validator refused


def key(answers: object) -> str:
    """Return one string per set of answers, whatever their order."""
    return json.dumps(answers, sort_keys=True)


def render(root: Path, answers: Mapping[str, Any], dest: Path) -> Render:
    """Render `root` with `answers` on top of the defaults into `dest`.

    As `copier copy --defaults --skip-tasks --vcs-ref=HEAD` does: HEAD and the working tree's
    changes, no post-generation task.
    """
    # The defaults that come from git config (author, GitHub owner) are the template's own,
    # not this machine's or this repository's: the page reads the same wherever it is built.
    # Set before copier is imported (plumbum copies the environment then).
    os.environ.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    os.chdir(dest.parent)
    from copier import run_copy  # in the worker process: each imports copier once

    warnings.simplefilter("ignore")  # copier's "dirty template": the working tree is the point
    data = {"project_name": SAMPLE_NAME, "skip_setup": True, **answers}
    try:
        run_copy(
            str(root),
            dest,
            data=data,
            defaults=True,
            skip_tasks=True,
            vcs_ref="HEAD",
            unsafe=True,  # --trust: the template's own extension and tasks
            quiet=True,
        )
    except Exception as error:  # anything copier raises: one line, in the parent
        if isinstance(error, ValueError) and (refused := REFUSED.search(str(error))):
            return Render(answers, refused=refused["message"], refused_by=refused["question"])
        given = f"with {key(answers)}" if answers else "the defaults"
        question = asked(error)
        where = f" at question {question!r} of copier.yml" if question else ""
        stated = str(error) or type(error).__name__
        raise RenderError(f"rendering {given} failed{where}: {stated}") from None
    files = frozenset(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    recorded = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
    return Render(answers, files, recorded, make_help(dest))


def asked(error: BaseException) -> str:
    """Name the question copier was at when it raised `error`, if it was at one.

    Copier's messages leave it out (an undefined name in a default says only "'x' is
    undefined"); its frames hold it: a `Question` (`self.var_name`), or the `var_name` its
    questionnaire loops over.
    """
    found = ""
    trace = error.__traceback__
    while trace is not None:
        scope = trace.tb_frame.f_locals
        name = getattr(scope.get("self"), "var_name", scope.get("var_name"))
        found = name if isinstance(name, str) else found
        trace = trace.tb_next
    return found


def make_help(project: Path) -> tuple[Target, ...]:
    """Run `make help` in a rendered project; return its targets in order, with their groups."""
    make = shutil.which("make")
    if make is None:
        raise RenderError("make is not installed: the Makefile targets page needs it")
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}
    result = subprocess.run(  # nosec B603 # fixed argument list
        [make, "help"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RenderError(f"make help failed in a render: {result.stderr.strip()}")
    targets, group = [], ""
    for line in result.stdout.splitlines():
        if match := HELP_LINE.match(line):
            targets.append(Target(group, match["target"], match["description"]))
        elif line.strip():
            group = line.strip()
    return tuple(targets)


def render_all(
    root: Path, answer_sets: Iterable[Mapping[str, Any]], done: Mapping[str, Render]
) -> dict[str, Render]:
    """Render each set of answers not in `done`, `JOBS` at a time; return them with `done`."""
    todo = {key(answers): answers for answers in answer_sets if key(answers) not in done}
    with tempfile.TemporaryDirectory(prefix="template-facts-") as tmp:
        dests = [Path(tmp) / str(index) / "project" for index in range(len(todo))]
        for dest in dests:
            dest.parent.mkdir()
        # Processes: rendering is Python's own work. Spawned: Sphinx's process is not forked.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(JOBS, mp_context=spawn) as pool:
            made = pool.map(render, [root] * len(todo), todo.values(), dests)
            return {**done, **dict(zip(todo, made, strict=True))}
