"""The questions of copier.yml as a reader wants them: help, type, default, rule."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, TemplateError, Undefined

# A Jinja tag ({% ... %}) and an expression ({{ ... }}), with their whitespace control.
TAG = re.compile(r"\{%-?\s*(.*?)\s*-?%\}", re.DOTALL)
EXPRESSION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
SET = re.compile(r"set\s+(\w+)\s*=\s*(.+)", re.DOTALL)
# Any Jinja: a string holding one is rendered by copier, with the answers given so far.
JINJA = re.compile(r"\{\{|\{%")
# `answer | filter`: an answer passed through a filter.
FILTERED = re.compile(r"\w+\s*\|\s*(\w+)")


@dataclass(frozen=True)
class Question:
    """One question of copier.yml, with what the docs say about it."""

    name: str
    help: str
    type: str  # "" when copier.yml states none (copier infers it from the default)
    multiselect: bool
    choices: dict[str, Any]  # label: value (a list of choices is its own labels)
    # A Jinja string copier renders into the choices when it asks ("" when they are listed):
    # they depend on the answers, so the docs can only show it.
    choices_expression: str
    default: Any  # as copier.yml states it; None when it states none
    when: Any  # None: always asked; False: hidden; else copier.yml's expression
    messages: tuple[str, ...]  # what its validator can print

    @property
    def hidden(self) -> bool:
        """Whether the question is never asked (`when: false`)."""
        return self.when is False


def load(root: Path) -> list[Question]:
    """Read the questions of `root`/copier.yml in its order (its `_` settings left out)."""
    data: dict[str, Any] = yaml.safe_load((root / "copier.yml").read_text(encoding="utf-8"))
    facts = TemplateFacts(root)
    questions = []
    for name, spec in data.items():
        if name.startswith("_") or not isinstance(spec, dict):
            continue
        stated: object = spec.get("choices") or []
        expression = stated if isinstance(stated, str) and JINJA.search(stated) else ""
        questions.append(
            Question(
                name=name,
                help=facts.fill(str(spec.get("help") or "")).strip(),
                type=str(spec.get("type", "")),
                multiselect=bool(spec.get("multiselect", False)),
                choices={} if expression else choices(name, stated, facts),
                choices_expression=expression,
                default=spec.get("default"),
                when=spec.get("when"),
                messages=facts.messages(str(spec.get("validator") or "")),
            )
        )
    return questions


def choices(question: str, stated: object, facts: TemplateFacts) -> dict[str, Any]:
    """Read the choices of a question as copier does: label to value, in their order.

    Copier takes a list of values (each its own label), of `[label, value]` pairs, or a
    mapping of label to value; a value may be `{value: ..., validator: ...}` (a choice the
    validator disables), and a string holding no Jinja is YAML for any of those.
    """
    where = f"copier.yml: question {question!r}"
    if isinstance(stated, str):
        stated = yaml.safe_load(stated)
    if isinstance(stated, dict):
        stated = list(stated.items())
    if not isinstance(stated, list):
        raise QuestionError(f"{where}: make its choices a list or a mapping")
    found: dict[str, Any] = {}
    for choice in stated:
        if isinstance(choice, list | tuple):
            if len(choice) != 2:
                raise QuestionError(f"{where}: make {choice!r} a [label, value] pair")
            label, value = choice
            if isinstance(value, dict):
                if "value" not in value:
                    raise QuestionError(f"{where}: give choice {label!r} a `value`")
                value = value["value"]
        else:
            label = value = choice
        found[facts.fill(str(label))] = value
    return found


class QuestionError(ValueError):
    """copier.yml states a question in a form copier would refuse."""


def problems(questions: list[Question]) -> list[str]:
    """Say, in one line each, which asked questions have no help for the questions page."""
    return [
        f"copier.yml: question {q.name!r} has no help: give it a `help:` line, which the "
        "questions page shows"
        for q in questions
        if not q.hidden and not q.help
    ]


class TemplateFacts:
    """The facts of extensions/context.py that help texts and validator messages show.

    Those are the answer limits and the messages of the template's own filters; everything
    else in a message depends on the answer and stays as written.
    """

    def __init__(self, root: Path) -> None:
        """Read the answer limits and the filters' messages from the template's extension."""
        source = (root / "extensions" / "context.py").read_text(encoding="utf-8")
        self.globals: dict[str, Any] = {}
        self.filter_messages: dict[str, tuple[str, ...]] = {}
        for node in ast.parse(source).body:
            if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "ANSWER_LIMITS" for t in targets):
                    self.globals["answer_limits"] = ast.literal_eval(node.value)
            elif isinstance(node, ast.FunctionDef):
                returned = tuple(
                    ret.value.value
                    for ret in ast.walk(node)
                    if isinstance(ret, ast.Return)
                    and isinstance(ret.value, ast.Constant)
                    and isinstance(ret.value.value, str)
                    and ret.value.value
                )
                if returned:
                    self.filter_messages[node.name] = returned
        # Markdown comes out, not HTML: nothing to escape.
        self.jinja = Environment(undefined=StrictUndefined, autoescape=False)  # noqa: S701 # nosec B701

    def value(self, expression: str) -> str | None:
        """Evaluate a Jinja expression that depends on no answer; None for one that does."""
        try:
            evaluate = self.jinja.compile_expression(expression, undefined_to_none=False)
            value = evaluate(**self.globals)
        except (TemplateError, TypeError, ValueError):
            return None
        return None if isinstance(value, Undefined) else str(value)

    def fill(self, text: str) -> str:
        """Replace each expression of `text` that depends on no answer by its value.

        The others stay (`{{ expression }}`, whitespace normalised): the page shows them as code.
        """

        def replace(match: re.Match[str]) -> str:
            value = self.value(match[1])
            return value if value is not None else f"{{{{ {match[1]} }}}}"

        return EXPRESSION.sub(replace, text)

    def messages(self, validator: str) -> tuple[str, ...]:
        """List the messages a validator can print, one per branch of its `if`.

        A branch that prints what one of the template's filters returned (`{{ problem }}`,
        set from `answer | text_problem`) stands for each message of that filter.
        """
        assigned: dict[str, str] = {}
        found: list[str] = []
        # split() alternates text and the tags' insides: text at even positions.
        for index, chunk in enumerate(TAG.split(validator)):
            if index % 2:
                if statement := SET.fullmatch(chunk):
                    assigned[statement[1]] = statement[2].strip()
                continue
            text = " ".join(chunk.split())
            if not text:
                continue
            whole = EXPRESSION.fullmatch(text)
            filtered = FILTERED.fullmatch(assigned.get(whole[1], "")) if whole else None
            if filtered and filtered[1] in self.filter_messages:
                found.extend(self.filter_messages[filtered[1]])
            else:
                found.append(self.fill(text))
        return tuple(dict.fromkeys(found))
