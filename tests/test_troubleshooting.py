"""Every error docs/troubleshooting.md quotes is one the code prints.

The page quotes each message in a fenced block of its own (info string `text`, one line), with
`<placeholder>` where the code prints something variable. This module reads the string
literals of the code (copier.yml, template/ without its tests, hooks/, extensions/, .ci/, the
Makefile) into templates: literal text with holes where the code puts a variable part, as
f-string `{...}`, printf `%s`, shell and make `$var`, `${...}`, `$(...)`, and Jinja `{{ ... }}`
(Python through `ast`, after a .jinja file's tags are dropped; shell and make by a scanner of
their words, quotes, heredocs and `$(error ...)`; copier.yml through YAML, each string split at
its Jinja tags).

It also reads what fills each hole, within one file (or Python package: a service's cli.py
prints what its programs.py raises). A hole that names a value the code gives itself takes one
of the texts the code gives it:

- in Python, a parameter takes what the calls of its function pass (its default when they
  leave it out); a variable, what is assigned to it (both of `a if c else b`); a call, what
  its function returns; `error` of `except E as error`, the messages E is raised with when E
  is a class of the unit (its argument, or what its `__init__` passes to `super().__init__`);
  an attribute, what `self.x = ...`, a dataclass's construction or a property gives it (of
  its class when known: `self.x`, `error.x`; else of any class); `d["key"]`, what a dict
  display gives the key, `d[name]` any of its values; a loop variable, the elements of the
  list, tuple or set it walks (displayed, appended, copied). `str(x)` is x, and a module's
  string constant its text;
- in shell, a function's `$1` and `"$*"` take the words of its calls, a variable its
  assignments, printf's `%s` the argument it prints.

A placeholder stands for such a hole only when one of its texts is a run-time value (what a
command printed, an attribute the unit never sets, a Jinja answer, the environment) or when
the code shows none (a parameter of a function no code of the unit calls). So `setup: error:
%s` prints the text of one `die` call and `release: {problem}: {remedy}` the two halves one
`refuse` call passes: `setup: error: <reason>` is reported, since every `die` passes fixed
text. A quoted message is found when one template matches it whole:

- a literal part of the message must equal the template's text, except that each run of
  whitespace counts as one space on both sides and a template is stripped at its two ends: a
  line that a YAML validator or a shell heredoc wraps is one line on screen. Before that,
  Python's parser joins adjacent literals ("a " "b"), and the YAML parser folds `>-` scalars;
- a hole is matched by one of its texts' templates, up to MAX_DEPTH texts deep (a value
  passed on as it is costs no depth); a run-time hole by a `<placeholder>` (or by the same
  text, `<...>` and all, when the code prints it literally), or by another string of the unit
  with a word of its own (argparse's `args.command` is `check` when `check` prints the line);
- a message without a fixed word (`<target>: <message>`) is reported: nothing in it could be
  searched for, and it fits any wrapper around a run-time value.

What this leaves open: names are matched by their bare name within a unit (two functions of
one name share their calls), a value that flows where the reading does not follow (through a
callback, a generator, `getattr`) is a run-time value, and a piece of a message (the text one
`die` call passes) matches on its own too: this proves that each piece is real and what fills
its holes, not that a line is printed without its prefix, nor in that combination. Docstrings,
comments and test files never count: a message must be something the code says. A changed
word, a placeholder over fixed text and an invented line are each reported (the tests at the
end of this module).
"""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from helpers import ROOT

PAGE = ROOT / "docs" / "troubleshooting.md"
# Where the messages users see come from; the template's own tests are not code that prints.
SOURCES = ("copier.yml", "template", "hooks", "extensions", ".ci", "Makefile")
SKIPPED_DIRS = {"tests", "__pycache__"}
# How many texts deep a hole's filling is followed (die's argument, its own holes' values...).
MAX_DEPTH = 3
# A message's variable part as the page writes it: `<version>`, `<file name>`.
PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9 _./:='-]*>")
# What a message needs besides placeholders and punctuation for anyone to search for it.
FIXED_WORD = re.compile(r"[A-Za-z]{2,}")
# A Jinja expression, and what stands in for one in a .jinja file before it is parsed.
JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
JINJA_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
JINJA_STAND_IN = "__jinja__"
# printf's and Python's %-conversions (no space flag: "50% done" is text).
PRINTF = re.compile(r"%(?:\([A-Za-z_]\w*\))?[-#0+]*\d*(?:\.\d+)?[sdirfx]")
# A hole the code fills at run time, and either hole: that one, or `\x01n\x02`, the hole of
# the value the code names n (Names).
HOLE = "\0"
HOLES = re.compile("\0|\x01(\\d+)\x02")
# A shell variable's name after `$`, or a special one (`$1`, `$@`; make's `$<`, `$^`).
SHELL_VARIABLE = re.compile(r"[A-Za-z_]\w*|[0-9@*#?$!<^-]")
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)(?P<info>.*)$")


class Template(NamedTuple):
    """Literal parts with a hole between each two: None (run time) or a named value's number."""

    parts: tuple[str, ...]
    holes: tuple[int | None, ...]


def template(text: str) -> Template:
    """Split text with holes into its literal parts, each run of whitespace one space.

    The ends are kept: `"first: " + rest` needs the space. A template matched on its own (not
    filling a hole) is stripped first (`stripped`).
    """
    pieces = HOLES.split(text)
    parts = tuple(re.sub(r"\s+", " ", part) for part in pieces[0::2])
    return Template(parts, tuple(None if hole is None else int(hole) for hole in pieces[1::2]))


def stripped(parts: tuple[str, ...]) -> tuple[str, ...]:
    """A template's parts without the whitespace at its start and end."""
    if len(parts) == 1:
        return (parts[0].strip(),)
    return (parts[0].lstrip(), *parts[1:-1], parts[-1].rstrip())


def literal(text: str) -> str:
    """Mark the holes of a string constant: Jinja expressions (or their stand-in), %-formats.

    With a %-conversion in it, the string is a format, whose `%%` prints one `%`.
    """
    text = JINJA_EXPRESSION.sub(HOLE, text.replace(JINJA_STAND_IN, HOLE))
    pieces = text.split("%%")
    if not any(PRINTF.search(piece) for piece in pieces):
        return text
    return "%".join(PRINTF.sub(HOLE, piece) for piece in pieces)


@dataclass
class Names:
    """The named values of one file or package, and every text the code gives each."""

    numbers: dict[Hashable, int] = field(default_factory=dict)
    texts: dict[int, list[str]] = field(default_factory=dict)

    def hole(self, name: Hashable) -> str:
        """The hole the named value makes in a template."""
        return f"\x01{self.numbers.setdefault(name, len(self.numbers))}\x02"

    def give(self, name: Hashable, text: str) -> None:
        """Record a text (HOLE: a run-time value) the code gives the named value."""
        number = self.numbers.setdefault(name, len(self.numbers))
        self.texts.setdefault(number, []).append(text)


# --- Python -------------------------------------------------------------------------------

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
Function = ast.FunctionDef | ast.AsyncFunctionDef
# The text of an expression that is not a string literal: a named value's hole, a string
# constant's text, or None (a run-time value).
Resolve = Callable[[ast.expr], "str | None"]


def python_text(node: ast.expr, resolve: Resolve) -> str | None:
    """The text of an expression with its holes marked; None for a run-time value.

    `LEFT + ", ".join(files)` is LEFT's text and a hole.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return literal(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(
            literal(part.value)
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
            else formatted(part, resolve)
            for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = python_text(node.left, resolve), python_text(node.right, resolve)
        if left is None and right is None:
            return None
        return (left if left is not None else HOLE) + (right if right is not None else HOLE)
    return resolve(unwrapped(node))


def unwrapped(node: ast.expr) -> ast.expr:
    """`str(x)` is x."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "str"
        and len(node.args) == 1
        and not node.keywords
    ):
        return node.args[0]
    return node


def formatted(part: ast.expr, resolve: Resolve) -> str:
    """The text of an f-string's `{...}` (`!r` and `:>8` change it: a hole)."""
    if (
        isinstance(part, ast.FormattedValue)
        and part.conversion in (-1, ord("s"))
        and part.format_spec is None
    ):
        text = python_text(part.value, resolve)
        if text is not None:
            return text
    return HOLE


def alternatives(node: ast.expr) -> Iterator[ast.expr]:
    """The values an expression may have: both of `a if c else b`, each of `a or b`."""
    if isinstance(node, ast.IfExp):
        yield from alternatives(node.body)
        yield from alternatives(node.orelse)
    elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        for value in node.values:
            yield from alternatives(value)
    elif not (isinstance(node, ast.Constant) and node.value is None):
        yield node


def simple_name(node: ast.expr) -> str | None:
    """The name an expression calls or catches: `f`, `module.f`, `self.f`; None otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def item_name(node: ast.expr) -> str | None:
    """The key of `x["key"]`."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return node.slice.value if isinstance(node.slice.value, str) else None
    return None


@dataclass
class PythonReader:
    """The templates of a Python file or package, and the texts it gives each named value.

    Named values: parameters, by their function's name; variables, by their scope; what a
    function returns; attributes (`self.x = ...`, a dataclass's fields, a property), by their
    class and name where the class is known (`self.x` in a method, `error.x` of `except E as
    error`), else by their name alone; dict items (`{"key": ...}`), by their key; the elements
    (what a loop reads) and values (what a subscript reads) of a named value; and the message
    an exception class is raised with.
    """

    names: Names
    scopes: dict[int, ast.AST] = field(default_factory=dict)  # a node's function or module
    modules: dict[int, ast.AST] = field(default_factory=dict)  # a scope's module
    stores: dict[int, Counter[str]] = field(default_factory=dict)  # what each scope assigns
    # Functions by the name their calls use (a class's for its __init__), and whether each is
    # a method (its calls leave out `self`).
    functions: dict[str, list[tuple[Function, bool]]] = field(default_factory=dict)
    called_as: dict[int, str] = field(default_factory=dict)
    owners: dict[int, str] = field(default_factory=dict)  # a method's class
    classes: dict[str, list[str]] = field(default_factory=dict)  # with their bases' names
    fields: dict[str, list[tuple[str, ast.expr | None]]] = field(default_factory=dict)
    properties: set[tuple[str, str]] = field(default_factory=set)  # with their class
    attributes: set[str] = field(default_factory=set)  # the attribute names the unit sets
    members: set[tuple[str, str]] = field(default_factory=set)  # the same, with their class
    instances: dict[Hashable, str | None] = field(default_factory=dict)  # what `except` binds
    items: set[str] = field(default_factory=set)  # the dict keys the unit sets
    constants: dict[int, dict[str, str]] = field(default_factory=dict)

    def visit(self, node: ast.AST, scope: ast.AST, module: ast.AST, owner: str | None) -> None:
        """Record each node's scope, what each scope assigns, functions, classes, fields."""
        for child in ast.iter_child_nodes(node):
            self.scopes[id(child)] = scope
            if isinstance(child, FUNCTIONS):
                self.function(child, module, owner)
            elif isinstance(child, ast.ClassDef):
                self.classes[child.name] = [
                    base for base in map(simple_name, child.bases) if base is not None
                ]
                self.fields[child.name] = [
                    (statement.target.id, statement.value)
                    for statement in child.body
                    if isinstance(statement, ast.AnnAssign)
                    and isinstance(statement.target, ast.Name)
                ]
                self.attributes.update(name for name, _ in self.fields[child.name])
                self.members.update((child.name, name) for name, _ in self.fields[child.name])
                self.modules[id(child)] = module
                self.stores[id(child)] = Counter()
                self.visit(child, child, module, child.name)
            else:
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    self.stores[id(scope)][child.id] += 1
                elif isinstance(child, ast.ExceptHandler) and child.name:
                    self.stores[id(scope)][child.name] += 1
                elif isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store):
                    self.attributes.add(child.attr)
                    if self.is_self(child.value, scope):
                        self.members.add((self.owners[id(scope)], child.attr))
                elif isinstance(child, ast.Dict):
                    keys = (literal_key(key) for key in child.keys if key is not None)
                    self.items.update(name for name in keys if name)
                elif isinstance(child, ast.Subscript) and isinstance(child.ctx, ast.Store):
                    self.items.update(name for name in [item_name(child)] if name)
                self.visit(child, scope, module, owner)

    def function(self, child: Function, module: ast.AST, owner: str | None) -> None:
        """Record a function (a method when `owner` is its class) and visit its body."""
        decorators = {simple_name(decorator) for decorator in child.decorator_list}
        method = owner is not None and "staticmethod" not in decorators
        name = owner if owner is not None and child.name == "__init__" else child.name
        self.functions.setdefault(name, []).append((child, method))
        self.called_as[id(child)] = name
        if owner is not None:
            self.owners[id(child)] = owner
            if decorators & {"property", "cached_property"}:
                self.properties.add((owner, child.name))
                self.attributes.add(child.name)
                self.members.add((owner, child.name))
        self.modules[id(child)] = module
        rest = (child.args.vararg, child.args.kwarg)
        self.stores[id(child)] = Counter(
            [*self.parameters(child), *(a.arg for a in rest if a is not None)]
        )
        self.visit(child, child, module, None)

    @staticmethod
    def parameters(function: Function) -> list[str]:
        """The names of a function's parameters."""
        arguments = function.args
        every = (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
        return [argument.arg for argument in every]

    def key(self, scope: ast.AST, name: str) -> Hashable | None:
        """The named value `name` is in `scope` (None: a constant, a builtin, an import)."""
        if isinstance(scope, ast.ClassDef):
            return None  # a class attribute: read as an attribute
        if isinstance(scope, FUNCTIONS):
            if name in self.parameters(scope):
                return ("parameter", self.called_as[id(scope)], name)
            if name in self.stores[id(scope)]:
                return ("local", id(scope), name)
            scope = self.modules[id(scope)]
        if name in self.stores[id(scope)] and name not in self.constants[id(scope)]:
            return ("local", id(scope), name)
        return None

    def is_self(self, node: ast.expr, scope: ast.AST) -> bool:
        """Whether `node` is `self` in a method."""
        return isinstance(node, ast.Name) and node.id == "self" and id(scope) in self.owners

    def member(self, node: ast.Attribute) -> Hashable | None:
        """The attribute `node` reads or sets: of its class when known, else by name alone."""
        scope, value = self.scopes[id(node)], node.value
        owner = None
        if self.is_self(value, scope):
            owner = self.owners[id(scope)]
        elif isinstance(value, ast.Name):
            owner = self.instances.get(self.key(scope, value.id))
        if owner is not None and (owner, node.attr) in self.members:
            return ("attribute", owner, node.attr)
        return ("attribute", node.attr) if node.attr in self.attributes else None

    def targets(self, node: ast.expr) -> list[Hashable]:
        """The named values an assignment's target sets (an attribute's, by name alone too)."""
        if isinstance(node, ast.Name):
            named = self.key(self.scopes[id(node)], node.id)
            return [] if named is None else [named]
        if isinstance(node, ast.Attribute):
            named = self.member(node)
            by_name = ("attribute", node.attr)
            return [by_name] if named in (None, by_name) else [named, by_name]
        if isinstance(node, ast.Subscript):
            if name := item_name(node):
                return [("item", name)]
            container = self.named(node.value)  # `checks[name] = ...`
            return [] if container is None else [("values", container)]
        return []

    def named(self, node: ast.expr) -> Hashable | None:
        """The named value an expression reads: a name, a call's return, an attribute, an item."""
        if isinstance(node, ast.Name):
            return self.key(self.scopes[id(node)], node.id)
        if isinstance(node, ast.Call):
            name = simple_name(node.func)
            definitions = self.functions.get(name, []) if name else []
            if any(definition.name != "__init__" for definition, _ in definitions):
                return ("returned", name)
        elif isinstance(node, ast.Attribute):
            return self.member(node)
        elif isinstance(node, ast.Subscript):
            if (name := item_name(node)) and name in self.items:
                return ("item", name)
            container = self.named(node.value)  # `INSTALL_HINTS[name]`, `lines[-1]`
            return None if container is None else ("values", container)
        return None

    def resolve(self, node: ast.expr) -> str | None:
        """The text of what is not a string literal: a hole, a constant's text, or None."""
        named = self.named(node)
        if named is not None:
            return self.names.hole(named)
        if isinstance(node, ast.Name):
            scope = self.scopes[id(node)]
            return self.constants[id(self.modules.get(id(scope), scope))].get(node.id)
        return None

    def elements(self, node: ast.expr) -> list[str]:
        """The texts of the elements of a list, tuple or set: displayed, or a named one's."""
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [self.text(element) for element in node.elts]
        if isinstance(node, ast.Call) and simple_name(node.func) in COPIES and node.args:
            return self.elements(node.args[0])
        named = self.named(node)
        return [HOLE] if named is None else [self.names.hole(("elements", named))]

    def give(self, named: Iterable[Hashable], node: ast.expr | None) -> None:
        """Give named values the text of each value an expression may have (None: run time).

        A list, a tuple or a set (displayed, or a copy of one: `tuple(problems)`) gives its
        elements to the named values' elements, which a `for` loop and a subscript read; a
        dict display its keys to their elements and its values to their values.
        """
        values = [] if node is None else list(alternatives(node))
        texts = [self.text(value) for value in values] or [HOLE]
        members: list[tuple[str, str]] = []
        for value in values:
            if isinstance(value, (ast.List, ast.Tuple, ast.Set)) or (
                isinstance(value, ast.Call) and simple_name(value.func) in COPIES
            ):
                members += [(kind, text) for text in self.elements(value) for kind in KINDS]
            elif isinstance(value, ast.Dict):
                for key, item in zip(value.keys, value.values, strict=True):
                    members.append(("elements", HOLE if key is None else self.text(key)))
                    members.append(("values", HOLE if key is None else self.text(item)))
            elif (other := self.named(value)) is not None:  # another name's, passed on
                members += [(kind, self.names.hole((kind, other))) for kind in KINDS]
            elif python_text(value, self.resolve) is None:  # made at run time
                members += [(kind, HOLE) for kind in KINDS]
        for name in named:
            for text in texts:
                self.names.give(name, text)
            for kind, text in members:
                self.names.give((kind, name), text)

    def text(self, node: ast.expr) -> str:
        """The text of an expression, HOLE when it is a run-time value."""
        text = python_text(node, self.resolve)
        return HOLE if text is None else text

    def read_constants(self, module: ast.Module) -> None:
        """A module's string constants: names assigned once, at its top, a string expression."""
        found: dict[str, str] = {}
        self.constants[id(module)] = found
        for statement in module.body:
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(target := statement.targets[0], ast.Name)
                and self.stores[id(module)][target.id] == 1
            ):
                text = python_text(
                    statement.value,
                    lambda node: found.get(node.id) if isinstance(node, ast.Name) else None,
                )
                if text is not None:
                    found[target.id] = text

    def call(self, node: ast.Call) -> None:
        """Give a call's arguments to the parameters of the unit's functions it may call."""
        function = node.func
        if (
            isinstance(function, ast.Attribute)
            and function.attr == "__init__"
            and isinstance(function.value, ast.Call)
            and simple_name(function.value.func) == "super"
        ):
            owner = self.owners.get(id(self.scopes[id(node)]))
            if owner is not None:
                self.give([("raised", owner)], node.args[0] if node.args else None)
            return
        name = simple_name(function)
        if name == "cls":  # a classmethod making its class
            name = self.owners.get(id(self.scopes[id(node)]))
        if name is None:
            return
        definitions = self.functions.get(name, [])
        for definition, method in definitions:
            if not method or isinstance(function, ast.Attribute) or definition.name == "__init__":
                self.pass_arguments(definition, method, node)
        if name in self.classes and not any(d.name == "__init__" for d, _ in definitions):
            self.construct(name, node)

    def construct(self, name: str, node: ast.Call) -> None:
        """A class without __init__ made: its message (an exception's), its fields' values."""
        spread = any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            keyword.arg is None for keyword in node.keywords
        )
        self.give([("raised", name)], None if spread or not node.args else node.args[0])
        given: dict[str, ast.expr | None] = dict(self.fields[name])
        given.update(zip([field for field, _ in self.fields[name]], node.args, strict=False))
        given.update((keyword.arg, keyword.value) for keyword in node.keywords if keyword.arg)
        for field_name, value in given.items():
            if spread or value is not None:
                named = [("attribute", name, field_name), ("attribute", field_name)]
                self.give(named, None if spread else value)

    def pass_arguments(self, definition: Function, method: bool, node: ast.Call) -> None:
        """Give each parameter of `definition` what the call passes, or its default."""
        arguments = definition.args
        positional = [argument.arg for argument in (*arguments.posonlyargs, *arguments.args)]
        given: dict[str, ast.expr | None] = dict.fromkeys(self.parameters(definition))
        first_default = len(positional) - len(arguments.defaults)
        given.update(zip(positional[first_default:], arguments.defaults, strict=True))
        given.update(
            (argument.arg, default)
            for argument, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        )
        positional = positional[1:] if method else positional
        given.update(zip(positional, node.args, strict=False))  # more arguments: *args
        given.update((keyword.arg, keyword.value) for keyword in node.keywords if keyword.arg)
        spread = any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            keyword.arg is None for keyword in node.keywords
        )
        name = self.called_as[id(definition)]
        for parameter, value in given.items():
            if spread or value is not None:
                self.give([("parameter", name, parameter)], None if spread else value)

    def flow(self, tree: ast.Module) -> None:
        """Give each named value of a module what the code assigns, passes, returns, raises."""
        assigned: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self.give(self.targets(target), node.value)
                    assigned.add(id(target))
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                self.give(self.targets(node.target), node.value)
                assigned.add(id(node.target))
            elif isinstance(node, ast.Return) and node.value is not None:
                scope = self.scopes[id(node)]
                if isinstance(scope, FUNCTIONS):
                    self.give([("returned", self.called_as[id(scope)])], node.value)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if key is not None and (name := literal_key(key)):
                        self.give([("item", name)], value)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.caught(node)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                for text in self.elements(node.iter) if isinstance(node.target, ast.Name) else []:
                    for named in self.targets(node.target):
                        self.names.give(named, text)
                assigned.add(id(node.target))
            elif isinstance(node, ast.Call):
                self.call(node)
                self.add(node)
        for node in ast.walk(tree):  # tuples unpacked, `with ... as`, `+=` and the like
            if (
                isinstance(node, (ast.Name, ast.Attribute, ast.Subscript))
                and isinstance(node.ctx, ast.Store)
                and id(node) not in assigned
            ):
                self.give(self.targets(node), None)

    def add(self, node: ast.Call) -> None:
        """`problems.append(text)`, `.add(text)`, `.extend(texts)`: elements of a named value."""
        function = node.func
        if not isinstance(function, ast.Attribute) or len(node.args) != 1:
            return
        named = self.named(function.value)
        if named is None or function.attr not in ("append", "add", "extend"):
            return
        value = node.args[0]
        texts = self.elements(value) if function.attr == "extend" else [self.text(value)]
        for text in texts:
            for kind in KINDS:
                self.names.give((kind, named), text)

    def catches(self, handler: ast.ExceptHandler) -> list[str | None]:
        """The classes of the unit an `except` catches (None: another's, such as OSError)."""
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        names = [simple_name(kind) if kind is not None else None for kind in kinds]
        return [name if name in self.classes else None for name in names]

    def caught(self, handler: ast.ExceptHandler) -> None:
        """`except E as error`: error is a message E is raised with, when E is the unit's."""
        named = self.key(self.scopes[id(handler)], handler.name or "")
        for name in self.catches(handler) if named is not None else []:
            self.names.give(named, HOLE if name is None else self.names.hole(("raised", name)))

    def templates(self, trees: list[ast.Module]) -> Iterator[str]:
        """Every string expression of the modules but docstrings and pieces of bigger ones."""
        for tree in trees:
            self.stores[id(tree)] = Counter()
            self.visit(tree, tree, tree, None)
        for tree in trees:
            self.read_constants(tree)
        for tree in trees:  # the class of what `except E as error` binds, when it is one
            for node in ast.walk(tree):
                if isinstance(node, ast.ExceptHandler) and node.name:
                    named = self.key(self.scopes[id(node)], node.name)
                    caught = set(self.catches(node))
                    one = caught.pop() if len(caught) == 1 else None
                    self.instances[named] = one if self.instances.get(named, one) == one else None
        for tree in trees:
            self.flow(tree)
        for name, bases in self.classes.items():  # `except Base` catches a subclass too
            for base in bases:
                if base in self.classes:
                    self.names.give(("raised", base), self.names.hole(("raised", name)))
        for owner, name in self.properties:
            for named in (("attribute", owner, name), ("attribute", name)):
                self.names.give(named, self.names.hole(("returned", name)))
        for tree in trees:
            inner: set[int] = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                    inner.add(id(node.value))  # a docstring
                elif isinstance(node, ast.JoinedStr):
                    inner.update(id(value) for value in node.values)
                    inner.update(
                        id(value.format_spec)
                        for value in node.values
                        if isinstance(value, ast.FormattedValue) and value.format_spec is not None
                    )
                elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                    inner.update((id(node.left), id(node.right)))
            for node in ast.walk(tree):
                strings = (ast.Constant, ast.JoinedStr, ast.BinOp)
                if isinstance(node, strings) and id(node) not in inner:
                    text = python_text(node, self.resolve)
                    if text is not None:
                        yield text


# Calls that copy a collection's elements; what a list's elements are read as (a loop's
# values, a subscript's).
COPIES = {"tuple", "list", "set", "frozenset", "sorted", "reversed"}
KINDS = ("elements", "values")


def literal_key(node: ast.expr) -> str | None:
    """The key of a dict display's item, when it is a string literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


# --- shell and make -----------------------------------------------------------------------

# Words that come before a command's own name.
KEYWORDS = {"!", "{", "}", "if", "then", "elif", "else", "while", "until", "do", "time", "exec"}
ASSIGNMENT = re.compile(r"([A-Za-z_]\w*)(\+?)=")
SHELL_FUNCTION = re.compile(
    r"^(?P<indent>[ \t]*)(?:function[ \t]+)?(?P<name>[A-Za-z_][\w-]*)"
    r"[ \t]*\(\)[ \t]*\{(?P<rest>.*)$",
    re.MULTILINE,
)


def function_spans(source: str) -> list[tuple[int, int, str]]:
    """Where each shell function's body is: `name() { ...; }` on a line, or up to its `}`."""
    spans = []
    for match in SHELL_FUNCTION.finditer(source):
        end = match.end()
        if not match["rest"].rstrip().endswith("}"):
            closing = re.compile(rf"^{match['indent']}\}}", re.MULTILINE).search(source, end)
            end = closing.end() if closing else len(source)
        spans.append((match.start(), end, match["name"]))
    return spans


@dataclass
class Word:
    """A word of a shell command: its text with holes, and how it starts."""

    text: str = ""
    plain: str = ""  # the unquoted characters it starts with: `NAME=` of an assignment
    quoted: int | None = None  # the index in `found` of the quoted string that is all of it
    empty: bool = True

    def add(self, text: str, *, plain: bool = False, quoted: int | None = None) -> None:
        """Append a piece: unquoted characters, a quoted string, an expansion."""
        if plain and self.text == self.plain:
            self.plain += text
        self.quoted = quoted if self.empty else None
        self.text += text
        self.empty = False


@dataclass
class ShellScanner:
    """The quoted strings, heredoc lines and make $(error ...) texts of a shell or make file.

    In shell (not make), it also gives each function's `$1`/`"$*"` the words of its calls, each
    variable its assignments, and printf's `%s` its arguments. A scanner of a `$(...)` shares
    all of that with its file's.
    """

    source: str
    make: bool = False
    names: Names = field(default_factory=Names)
    prefix: str = ""  # what tells the file's variables from other files'
    start: int = 0  # where `source` starts in the file
    functions: list[tuple[int, int, str]] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    calls: list[tuple[str, list[str]]] = field(default_factory=list)
    word: Word = field(default_factory=Word)
    words: list[Word] = field(default_factory=list)
    redirected: bool = False  # the word being read is where a redirection goes

    def inner(self, start: int, end: int) -> ShellScanner:
        """A scanner of part of this source, sharing what it finds."""
        return ShellScanner(
            self.source[start:end],
            self.make,
            self.names,
            self.prefix,
            self.start + start,
            self.functions,
            self.found,
            self.calls,
        )

    def substitution_end(self, start: int) -> int:
        """Index just past the `)` or `}` that closes the `$(`/`${` opening at `start`."""
        closing = {"(": ")", "{": "}"}
        stack = [closing[self.source[start + 1]]]
        index = start + 2
        while index < len(self.source) and stack:
            char = self.source[index]
            if char == "\\":
                index += 2
                continue
            if char in "\"'" and stack[-1] == ")":
                index = self.quoted_end(index)
                continue
            if char in closing and self.source[index - 1] == "$":
                stack.append(closing[char])
            elif char == "(" and stack[-1] == ")":
                stack.append(")")
            elif char == stack[-1]:
                stack.pop()
            index += 1
        if not self.make and self.source[start + 1] == "(":
            # What runs inside a command substitution may print messages too.
            self.inner(start + 2, index - 1).scan()
        return index

    def variable_end(self, start: int) -> int:
        """Index just past the variable or substitution that starts with `$` at `start`."""
        source = self.source
        following = source[start + 1 : start + 2]
        if self.make and following == "$":  # make's escaped $: the shell's own variable
            start += 1
            following = source[start + 1 : start + 2]
        if following in ("(", "{"):
            return self.substitution_end(start)
        match = SHELL_VARIABLE.match(source, start + 1)
        return match.end() if match else start + 1

    def expansion(self, start: int) -> tuple[str, int]:
        """The text of the `$...` at `start` (a hole, or `$` alone) and the index past it."""
        if self.make:
            end = self.variable_end(start)
            return (HOLE if end > start + 1 else "$"), end
        following = self.source[start + 1 : start + 2]
        if following in ("(", "{"):
            end = self.substitution_end(start)
            inside = self.source[start + 2 : end - 1]
            if following == "{" and re.fullmatch(r"[A-Za-z_]\w*|[1-9*@]", inside):
                return self.named(inside, start), end
            return HOLE, end
        match = SHELL_VARIABLE.match(self.source, start + 1)
        if not match:
            return "$", start + 1
        return self.named(match[0], start), match.end()

    def named(self, name: str, at: int) -> str:
        """The hole of a variable, or of a function's argument: a value the file gives it."""
        if name in "123456789*@":
            position = self.start + at
            inside = [span for span in self.functions if span[0] <= position < span[1]]
            if not inside:
                return HOLE  # the script's own arguments
            function = max(inside)[2]
            return self.names.hole((self.prefix, function, "*" if name in "*@" else name))
        if IDENTIFIER.fullmatch(name):
            return self.names.hole((self.prefix, name))
        return HOLE

    def double_quoted(self, start: int) -> tuple[str, int]:
        """The text of the "..." at `start`, its expansions holes; the index past it."""
        source, index, text = self.source, start + 1, []
        while index < len(source) and source[index] != '"':
            char = source[index]
            if char == "\\" and index + 1 < len(source):
                following = source[index + 1]
                if following in '"\\$`':
                    text.append(following)
                elif following != "\n":
                    text.append(char + following)
                index += 2
            elif char == "$" and source[index + 1 : index + 2] not in ("", '"', " "):
                piece, index = self.expansion(index)
                text.append(piece)
            elif char == "`":
                index = source.find("`", index + 1) + 1 or len(source)
                text.append(HOLE)
            else:
                text.append(char)
                index += 1
        return "".join(text), index + 1

    def quoted_end(self, start: int) -> int:
        """Index just past the quoted string at `start` (within a substitution)."""
        if self.source[start] == "'":
            return self.source.find("'", start + 1) + 1 or len(self.source)
        return self.double_quoted(start)[1]

    def heredoc(self, index: int, match: re.Match[str]) -> int:
        """Record the lines of the heredoc whose operator `match` found; the index past it."""
        line_end = self.source.find("\n", index)
        if line_end < 0:
            return len(self.source)
        delimiter, quoted = match["word"].strip("'\""), match["word"][0] in "'\""
        index = line_end + 1
        while index < len(self.source):
            end = self.source.find("\n", index)
            end = len(self.source) if end < 0 else end
            line = self.source[index:end]
            if line.strip() == delimiter:
                return end + 1
            self.found.append(line if quoted else self.double_quoted_text(line, index))
            index = end + 1
        return index

    def double_quoted_text(self, line: str, at: int) -> str:
        """A heredoc line (at `at`) read as a double-quoted string would be."""
        escaped = '"' + line.replace('"', '\\"') + '"'
        reader = ShellScanner(escaped, self.make, self.names, self.prefix, self.start + at)
        reader.functions, reader.found, reader.calls = self.functions, self.found, self.calls
        return reader.double_quoted(0)[0]

    def end_word(self) -> None:
        """Close the word being read (a redirection's target is no argument)."""
        if not self.word.empty and not self.redirected:
            self.words.append(self.word)
        self.word, self.redirected = Word(), False

    def end_command(self) -> None:
        """Close the command being read: record its call, assignments or printf."""
        self.end_word()
        words, self.words = self.words, []
        while words and words[0].text in KEYWORDS and words[0].plain == words[0].text:
            words = words[1:]
        while not self.make and words and (assignment := ASSIGNMENT.match(words[0].plain)):
            self.assign(assignment, words[0].text)
            words = words[1:]
        if not words:
            return
        name, arguments = words[0].text.lstrip("@-+") if self.make else words[0].text, words[1:]
        if self.make and name != "printf":  # a recipe's functions and variables are not read
            return
        if name == "printf":
            if arguments and arguments[0].text == "-v":
                arguments = arguments[2:]
            if arguments and arguments[0].quoted is not None:
                number = arguments[0].quoted
                self.found[number] = printed(self.found[number], [a.text for a in arguments[1:]])
        elif name in ("local", "export", "readonly", "declare", "typeset", "read", "for"):
            for argument in arguments:
                if assignment := ASSIGNMENT.match(argument.plain):
                    self.assign(assignment, argument.text)
                elif IDENTIFIER.fullmatch(argument.text):  # its value comes from elsewhere
                    self.names.give((self.prefix, argument.text), HOLE)
        else:
            self.calls.append((name, [argument.text for argument in arguments]))

    def assign(self, assignment: re.Match[str], word: str) -> None:
        """Give a variable the value `NAME=value` assigns (`+=` adds to a run-time value)."""
        value = HOLE if assignment[2] else word[assignment.end() :]
        self.names.give((self.prefix, assignment[1]), value)

    def scan(self) -> list[str]:
        """Collect the strings of the whole source, reading it command by command."""
        source, index = self.source, 0
        heredocs: list[re.Match[str]] = []
        heredoc_operator = re.compile(r"<<-?\s*(?P<word>'[^']+'|\"[^\"]+\"|[A-Za-z_]\w*)")
        make_function = re.compile(r"\$\((?:error|warning|info) ")
        while index < len(source):
            char = source[index]
            if char == "\n":
                self.end_command()
                index += 1
                for match in heredocs:
                    index = self.heredoc(index - 1, match)
                heredocs = []
            elif char == "#" and (index == 0 or source[index - 1] in " \t\n;"):
                index = source.find("\n", index)
                index = len(source) if index < 0 else index
            elif char == "\\":
                if source[index + 1 : index + 2] != "\n":
                    self.word.add(source[index + 1 : index + 2], plain=True)
                index += 2
            elif char == "'" or (char == "$" and source[index + 1 : index + 2] == "'"):
                start = index + (char == "$")
                end = source.find("'", start + 1)
                end = len(source) if end < 0 else end
                text = source[start + 1 : end]
                self.found.append(text.replace("\\n", "\n").replace("\\t", "\t"))
                self.word.add(text, quoted=len(self.found) - 1)
                index = end + 1
            elif char == '"':
                text, index = self.double_quoted(index)
                self.found.append(text.replace("\\n", "\n"))
                self.word.add(text, quoted=len(self.found) - 1)
            elif self.make and make_function.match(source, index):
                end = self.substitution_end(index)
                words = source[index + 2 : end - 1].split(" ", 1)[1]
                self.found.append(self.double_quoted_text(words, index))
                index = end
            elif char == "$":
                text, index = self.expansion(index)
                self.word.add(text)
            elif char == "`":
                index = source.find("`", index + 1) + 1 or len(source)
                self.word.add(HOLE)
            elif source.startswith("<<<", index):  # a here-string
                index += 3
            elif char == "<" and (operator := heredoc_operator.match(source, index)):
                heredocs.append(operator)
                index = operator.end()
            elif char in "<>":
                if self.word.text.isdigit():  # `2>`: a descriptor, no argument
                    self.word = Word()
                self.end_word()
                while source[index : index + 1] in ("<", ">", "&", "|"):
                    index += 1
                self.redirected = True
            elif source.startswith("()", index):  # `name() {`: a function, no command
                self.word, self.words = Word(), []
                index += 2
            elif char == "(" and self.word.text.endswith("="):  # an array's value
                self.word.add(HOLE)
                index = source.find(")", index) + 1 or len(source)
            elif char in ";&|()":
                self.end_command()
                index += 1
            elif char in " \t":
                self.end_word()
                index += 1
            else:
                self.word.add(char, plain=True)
                index += 1
        self.end_command()
        return self.found

    def pass_arguments(self) -> None:
        """Give each function's `$1`... and `$*` the words its calls pass."""
        defined = {name for _, _, name in self.functions}
        for name, arguments in self.calls:
            if name not in defined:
                continue
            self.names.give((self.prefix, name, "*"), " ".join(arguments))
            for number in range(1, 10):
                value = arguments[number - 1] if number <= len(arguments) else ""
                self.names.give((self.prefix, name, str(number)), value)


def printed(format_: str, arguments: list[str]) -> str:
    """What printf prints of a format and its arguments (a conversion it repeats: holes)."""
    pieces = format_.split("%%")
    if len(arguments) > sum(len(PRINTF.findall(piece)) for piece in pieces):
        return format_
    values = iter(arguments)

    def value(conversion: re.Match[str]) -> str:
        """An argument as `%s` or `%d` prints it; another conversion changes it."""
        argument = next(values, "")
        return argument if conversion[0][-1] in "sd" else HOLE

    return "%".join(PRINTF.sub(value, piece) for piece in pieces)


def shell_templates(
    source: str, names: Names | None = None, prefix: str = "", *, make: bool = False
) -> list[str]:
    """The strings of shell or make code, their %-conversions holes too (printf formats)."""
    scanner = ShellScanner(source, make, Names() if names is None else names, prefix)
    if not make:
        scanner.functions.extend(function_spans(source))
    found = scanner.scan()
    scanner.pass_arguments()
    return [literal(text) for text in found]


# --- YAML (copier.yml) ----------------------------------------------------------------------


def yaml_strings(value: object) -> Iterator[str]:
    """Every string in a YAML document's keys and values."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from yaml_strings(key)
            yield from yaml_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from yaml_strings(item)


def yaml_templates(source: str, names: Names) -> Iterator[str]:
    """The text between Jinja tags of every string (a validator's messages), and its shell's."""
    for number, text in enumerate(yaml_strings(yaml.safe_load(source))):
        yield from (JINJA_EXPRESSION.sub(HOLE, chunk) for chunk in JINJA_TAG.split(text))
        yield from shell_templates(jinja_free(text), names, f"#{number}")


# --- files --------------------------------------------------------------------------------


def jinja_free(text: str) -> str:
    """A .jinja file's text with its tags dropped and each expression a stand-in name."""
    return JINJA_EXPRESSION.sub(JINJA_STAND_IN, JINJA_TAG.sub("", text))


def kind(path: Path, text: str) -> str | None:
    """How to read a source file: python, shell, make or yaml (None: not code that prints)."""
    name = JINJA_TAG.sub("", path.name).removesuffix(".jinja")
    first = text.split("\n", 1)[0]
    if name.endswith(".py") or (first.startswith("#!") and "python" in first):
        return "python"
    if name.endswith(".sh") or (first.startswith("#!") and first.endswith(("bash", "sh"))):
        return "shell"
    if name == "Makefile":
        return "make"
    if name.endswith((".yml", ".yaml")):
        return "yaml"
    return None


def texts_of(paths: Iterable[Path], names: Names) -> list[str]:
    """The templates' texts of one file or package; `names` gets what fills their holes."""
    found: list[str] = []
    modules: list[ast.Module] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        how = kind(path, text)
        if path.name.endswith(".jinja") and how != "yaml":
            text = jinja_free(text)
        if how == "python":
            modules.append(ast.parse(text))
        elif how in ("shell", "make"):
            found += shell_templates(text, names, str(path), make=how == "make")
        elif how == "yaml" and not path.name.endswith(".jinja"):
            found += yaml_templates(text, names)
        elif how == "yaml":
            found += shell_templates(jinja_free(text), names, str(path))
    found += PythonReader(names).templates(modules)
    return found


@dataclass
class Source:
    """The templates of one file or Python package, and the matcher of messages against them."""

    path: str
    templates: list[Template] = field(repr=False)
    printed: list[int] = field(repr=False)  # what a whole message may match: the code's strings
    fillings: dict[int, list[int]] = field(repr=False)  # each named value's texts
    runtime: set[int] = field(repr=False)  # the named values a placeholder may stand for
    # The printed templates with a word of their own by their first character, and those that
    # start with a hole: what may stand in a run-time hole.
    by_first: dict[str, list[int]] = field(default_factory=dict, repr=False)
    hole_first: list[int] = field(default_factory=list, repr=False)
    # The same for a whole message: the printed templates stripped, by their first character.
    whole: dict[str, list[Template]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        """Index the printed templates by their first character, as they are and stripped."""
        for number in self.printed:
            parts, holes = self.templates[number]
            if not FIXED_WORD.search("".join(parts)):
                pass  # `{stderr} {stdout}` in a run-time hole: placeholders and glue
            elif parts[0]:
                self.by_first.setdefault(parts[0][0], []).append(number)
            else:
                self.hole_first.append(number)
            parts = stripped(parts)
            self.whole.setdefault(parts[0][:1], []).append(Template(parts, holes))

    @classmethod
    def read(cls, path: str, texts: Iterable[str], names: Names) -> Source:
        """The templates of texts, and what fills the holes of each named value."""
        numbers: dict[Template, int] = {}
        printed = set()
        for text in texts:
            form = template(text)
            if any(stripped(form.parts)):  # a hole alone adds nothing a placeholder does not
                printed.add(numbers.setdefault(form, len(numbers)))
        given = {
            number: [template(text) for text in names.texts.get(number, [])]
            for number in names.numbers.values()
        }
        fillings, runtime = {}, set()
        for number in given:
            # A value passed on as it is (`refuse(problem, ...)` to `RefusedError(problem, ...)`)
            # has the texts of the value it was given: followed here, it costs no depth.
            held, seen, todo = set(), {number}, [number]
            while todo:
                forms = given[todo.pop()]
                if not forms:
                    runtime.add(number)  # no text the code gives it: a run-time value
                for form in forms:
                    passed = form.holes[0] if form.parts == ("", "") else None
                    if form == Template(("", ""), (None,)):
                        runtime.add(number)
                    elif passed is not None:
                        todo.extend([passed] if passed not in seen else [])
                        seen.add(passed)
                    else:
                        held.add(numbers.setdefault(form, len(numbers)))
            fillings[number] = sorted(held)
        templates = sorted(numbers, key=numbers.__getitem__)
        return cls(path, templates, sorted(printed), fillings, runtime)

    def matches(self, message: str) -> bool:
        """Whether one template here, stripped, matches all of `message`."""
        memo: dict[tuple[int, int, int], frozenset[int]] = {}

        def match(
            parts: tuple[str, ...], holes: tuple[int | None, ...], start: int, depth: int
        ) -> frozenset[int]:
            """Where a template can end when it matches `message` from `start` on."""
            at = {start + len(parts[0])} if message.startswith(parts[0], start) else set()
            for name, text in zip(holes, parts[1:], strict=True):
                filled = {end for position in at for end in hole(name, position, depth)}
                at = {end + len(text) for end in filled if message.startswith(text, end)}
            return frozenset(at)

        def hole(name: int | None, start: int, depth: int) -> set[int]:
            """Where a hole can end: after a placeholder, or after one of its texts."""
            found = set()
            runtime = name is None or name in self.runtime
            if runtime and (placeholder := PLACEHOLDER.match(message, start)):
                found.add(placeholder.end())
            if depth > 0:
                numbers = [] if name is None else self.fillings.get(name, [])
                if runtime:  # what the code has at run time may be one of its own strings
                    first = message[start : start + 1]
                    numbers = [*numbers, *self.by_first.get(first, []), *self.hole_first]
                for number in numbers:
                    key = (number, start, depth - 1)
                    if key not in memo:
                        memo[key] = match(*self.templates[number], start, depth - 1)
                    found |= memo[key]
            return found

        candidates = [*self.whole.get(message[:1], []), *self.whole.get("", [])]
        return any(len(message) in match(*form, 0, MAX_DEPTH) for form in candidates)


def source_files(root: Path) -> Iterator[Path]:
    """The files under SOURCES, test folders and caches left out."""
    for name in SOURCES:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for item in sorted(path.rglob("*")):
                relative = item.relative_to(path).parts
                if item.is_file() and not SKIPPED_DIRS.intersection(relative[:-1]):
                    yield item


def unit_of(path: Path, root: Path) -> Path:
    """The file itself, or the outermost Python package that holds it: one program's code.

    A service's cli.py prints what its programs.py and db.py raise, so a package's modules
    are read together; separate scripts never are.
    """
    unit, folder = path, path.parent
    while folder != root and any(
        (folder / name).is_file() for name in ("__init__.py", "__init__.py.jinja")
    ):
        unit, folder = folder, folder.parent
    return unit


@functools.cache
def sources(root: Path = ROOT) -> list[Source]:
    """The templates of every file, or package, that holds any."""
    units: dict[Path, list[Path]] = {}
    for path in source_files(root):
        units.setdefault(unit_of(path, root), []).append(path)
    found = []
    for unit, paths in units.items():
        names = Names()
        source = Source.read(str(unit.relative_to(root)), texts_of(paths, names), names)
        if source.printed:
            found.append(source)
    return found


def where(message: str, among: list[Source]) -> list[str]:
    """The files (or packages) whose code prints `message`."""
    normal = " ".join(message.split())
    if not FIXED_WORD.search(PLACEHOLDER.sub("", normal)):
        return []
    return [source.path for source in among if source.matches(normal)]


def quoted_messages(page: str) -> list[str]:
    """The messages a troubleshooting page quotes: each fenced block of it, one line each."""
    messages, lines = [], page.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        index += 1
        if not opening:
            continue
        body: list[str] = []
        while index < len(lines) and not lines[index].startswith(opening["fence"]):
            body.append(lines[index])
            index += 1
        index += 1
        if opening["info"].strip() != "text" or len(body) != 1 or not body[0].strip():
            msg = f"a fenced block of the page must be ```text and one line: {body!r}"
            raise ValueError(msg)
        messages.append(body[0].strip())
    return messages


MESSAGES = quoted_messages(PAGE.read_text(encoding="utf-8"))


def test_the_page_quotes_many_distinct_messages() -> None:
    assert len(MESSAGES) >= 60
    assert len(set(MESSAGES)) == len(MESSAGES)


@pytest.mark.parametrize("message", MESSAGES, ids=[m[:60] for m in MESSAGES])
def test_every_quoted_message_is_printed_by_the_code(message: str) -> None:
    assert where(message, sources()), f"no code prints {message!r}"


# --- the checker itself -------------------------------------------------------------------


def finder(tmp_path: Path, name: str, code: str) -> Callable[[str], bool]:
    """Whether the checker finds a message in a file `name` holding `code`."""
    path = tmp_path / name
    path.write_text(code, encoding="utf-8")
    names = Names()
    source = Source.read(name, texts_of([path], names), names)
    return lambda message: bool(where(message, [source]))


@pytest.mark.parametrize(
    ("message", "printed"),
    [
        # An invented line, and real ones with a word changed or a literal turned placeholder.
        ("setup: error: uv is on fire: reinstall the universe", False),
        ("release: push <branch> first: it is <count> commit(s) behind <upstream>", False),
        ("setup: error: uv sync failed: <reason>, then run `make setup` again", False),
        # Literal text where the code has a variable that no literal of its file fills.
        ("template-update: error: git failed: fatal: not a git repository", False),
        # Words of a docstring and of a comment, which the code never prints.
        ("A reason not to release: what is wrong, and what to do about it.", False),
        ("Written on success: the Makefile runs setup until it exists.", False),
        # A placeholder over all the fixed text of a message: every `die`, `refuse` and
        # RefusedError passes fixed text; and no fixed word at all.
        ("setup: error: <reason>", False),
        ("template-update: error: <anything at all>", False),
        ("release: <problem>: <remedy>", False),
        ("<target>: <message>", False),
        ("release: <problem>: fix it, then retry", False),
        ("template-sync: <message>", False),  # what `summary` lists, too
        ("<time> SKIP <reason>", False),  # through Finished's attributes and a list
        # A placeholder where the code has fixed text: a variable set to one path, a
        # function's fixed words, a tuple looped over, a dict's values, a dataclass field,
        # the arguments of a method, an f-string assigned to a variable.
        (
            "setup: error: could not write <file>: make .venv writable (or remove it), then run "
            "`make setup` again",
            False,
        ),
        (
            "setup: error: <variable>=<value> is not a whole number of seconds: set it to one, "
            "such as <variable>=<default>",
            False,
        ),
        ("<time> SKIP a <operation> operation is in progress (finish or abort it)", False),
        ("<command>: <program> not found: install it (<how>)", False),
        ("not configured: set <variable> (.env or environment)", False),
        ("template-sync: error: <step> failed: the token needs <permission>", False),
        ("<spec>:<line>: <test>: no <name> in <file>", False),
        # Messages the code prints, as controls: run-time values, and the fixed text quoted.
        ("release: push <branch> first: it is <count> commit(s) ahead of <upstream>", True),
        ("template-update: error: git failed: <git's message>", True),
        ("<time> SKIP a rebase-merge operation is in progress (finish or abort it)", True),
        ("db-shell: psql not found: install it (e.g. apt install postgresql-client)", True),
        ("template-sync: error: gh pr list failed: the token needs Pull requests: read", True),
    ],
)
def test_the_checker_tells_printed_from_invented(message: str, printed: bool) -> None:
    assert bool(where(message, sources())) is printed


def test_every_quoted_message_with_a_word_changed_is_reported() -> None:
    """The hostile twin of each quoted message: its longest literal word replaced."""
    found = []
    for message in MESSAGES:
        pieces, placeholders = PLACEHOLDER.split(message), PLACEHOLDER.findall(message)
        word = max(re.findall(r"[A-Za-z]{2,}", " ".join(pieces)), key=len)
        whole = rf"(?<![A-Za-z]){word}(?![A-Za-z])"
        number = next(n for n, piece in enumerate(pieces) if re.search(whole, piece))
        pieces[number] = re.sub(whole, "xyzzy", pieces[number], count=1)
        changed = "".join(p + h for p, h in zip(pieces, [*placeholders, ""], strict=True))
        if where(changed, sources()):
            found.append(changed)
    assert not found


def test_python_adjacent_literals_f_strings_and_percent(tmp_path: Path) -> None:
    code = (
        'import sys\nPREFIX = "tool: "\n\n\ndef fail(name: str) -> None:\n'
        '    """Not printed: a docstring."""\n'
        '    msg = (\n        f"cannot read {name}: "\n        "check the path"\n    )\n'
        "    print(PREFIX + msg, file=sys.stderr)\n"
        '    print("%s is %d%% done" % (name, 5))\n'
    )
    found = finder(tmp_path, "tool.py", code)
    assert found("tool: cannot read <file>: check the path")
    assert found("cannot read <file>: check the path")
    assert found("<file> is <percent>% done")
    assert not found("cannot read <file>: check <what>")
    assert not found("Not printed: a docstring.")


def test_python_holes_take_the_texts_the_code_gives_them(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom dataclasses import dataclass\n\n"
        "HINTS = {'psql': 'apt install postgresql-client'}\n"
        "FILES = ('MERGE_HEAD', 'rebase-merge')\n\n\n"
        "class RefusedError(Exception):\n"
        "    def __init__(self, problem: str, remedy: str) -> None:\n"
        "        super().__init__(f'tool: {problem}: {remedy}')\n\n\n"
        "@dataclass\nclass Dependency:\n    variable: str\n\n\n"
        "def refuse(problem: str, remedy: str) -> None:\n"
        "    raise RefusedError(problem, remedy)\n\n\n"
        "def why(name: str) -> str:\n    return f'no {name} here'\n\n\n"
        "def note(line: str) -> None:\n    print(f'note: {line}')\n\n\n"
        "def check(path: str, needed: Dependency) -> None:\n"
        "    hint = 'run setup' if path else 'run init'\n"
        "    refuse(f'{path} is missing', hint)\n"
        "    refuse(f'set {needed.variable}', 'see .env')\n"
        "    refuse(f'no {path}: install it ({HINTS[path]})', 'then retry')\n"
        "    for name in FILES:\n"
        "        refuse(f'a {name} operation is in progress', 'finish it')\n"
        "    refuse(f'checked {path}: {why(path)}', 'go on')\n"
        "    note('started')\n    note(sys.argv[0])\n\n\n"
        "def main() -> None:\n    try:\n"
        "        check(sys.argv[1], Dependency('DATABASE_URL'))\n"
        "    except RefusedError as error:\n        print(error)\n"
    )
    found = finder(tmp_path, "tool.py", code)
    assert found("tool: <path> is missing: run init")
    assert not found("tool: <path> is missing: <hint>")  # a variable given two literals
    assert not found("tool: <problem>: <remedy>")  # every refuse call passes fixed text
    assert found("tool: set DATABASE_URL: see .env")
    assert not found("tool: set <variable>: see .env")  # a field made with a literal
    assert found("tool: no <program>: install it (apt install postgresql-client): then retry")
    assert not found("tool: no <program>: install it (<how>): then retry")  # a dict's values
    assert found("tool: a rebase-merge operation is in progress: finish it")
    assert not found("tool: a <operation> operation is in progress: finish it")  # a tuple's
    assert found("tool: checked <path>: no <path> here: go on")
    assert not found("tool: checked <path>: <why>: go on")  # what a function returns
    assert found("note: started")
    assert found("note: <argument>")  # one call passes a run-time value


def test_shell_holes_take_the_texts_the_code_gives_them(tmp_path: Path) -> None:
    code = (
        "#!/usr/bin/env bash\n"
        "die() { printf 'tool: error: %s\\n' \"$*\" >&2; exit 1; }\n"
        "say() { printf 'tool: %s\\n' \"$*\"; }\n"
        'DONE=.venv/.done\nWHY="it hangs"\n'
        '[ -n "$1" ] || WHY=$(cat reason)\n'
        'seconds() {\n  die "$1=$value is not a number: use $1=$2"\n}\n'
        "seconds SYNC_TIMEOUT 300\n"
        'touch "$DONE" 2>/dev/null || die "could not write $DONE: fix it"\n'
        'say "skipping: $WHY"\nsay "$(date)"\n'
    )
    found = finder(tmp_path, "tool.sh", code)
    assert found("tool: error: could not write .venv/.done: fix it")
    assert not found("tool: error: could not write <file>: fix it")  # DONE is one path
    assert not found("tool: error: <reason>")  # every die passes fixed text
    assert found("tool: error: SYNC_TIMEOUT=<value> is not a number: use SYNC_TIMEOUT=300")
    assert not found("tool: error: <name>=<value> is not a number: use <name>=<default>")
    assert found("tool: skipping: it hangs")
    assert found("tool: skipping: <why>")  # WHY is also what a command printed
    assert found("tool: <date>")  # one say prints what a command printed


def test_python_of_a_jinja_file(tmp_path: Path) -> None:
    code = (
        "{%- if redis %}\nimport redis\n{%- endif %}\n\n\ndef run() -> None:\n"
        '    msg = "no connection: run `python -m {{ package_name }} migrate`"\n'
        "    raise TypeError(msg)\n"
    )
    found = finder(tmp_path, "env.py.jinja", code)
    assert found("no connection: run `python -m <package> migrate`")
    assert not found("no connection: run `python -m billing migrate`")


def test_shell_variables_substitutions_and_heredocs(tmp_path: Path) -> None:
    code = (
        "#!/usr/bin/env bash\n"
        "die() { printf 'setup: error: %s\\n' \"$*\" >&2; exit 1; }\n"
        "# a comment that isn't printed\n"
        'die "PYTHON=$PYTHON is older than ${MINIMUM} ($(uname -s "x")): set \\"PYTHON\\""\n'
        "cat >&2 <<EOF\nsetup: install Python $PREFERRED, then run \\`make setup\\` again\nEOF\n"
        "cat <<'EOF'\nliteral $HOME here\nEOF\n"
    )
    found = finder(tmp_path, "setup.sh", code)
    assert found('setup: error: PYTHON=<path> is older than <minimum> (<system>): set "PYTHON"')
    assert found("setup: install Python <version>, then run `make setup` again")
    assert found("literal $HOME here")
    assert not found("literal <home> here")
    assert not found("a comment that isn't printed")


def test_make_variables_and_error_function(tmp_path: Path) -> None:
    code = (
        'ifeq ($(MSG),)\n$(error make migration needs MSG: make migration MSG="a flag")\nendif\n'
        'push:\n\t@[ -n "$(REGISTRY)" ] || { echo "$@: set REGISTRY, TAG=$$($(VERSION))" >&2; }\n'
    )
    found = finder(tmp_path, "Makefile", code)
    assert found('make migration needs MSG: make migration MSG="a flag"')
    assert found("<target>: set REGISTRY, TAG=<version>")
    assert not found("<target>: set REGISTRY, TAG=1.0.0")


def test_yaml_validators_fold_their_lines(tmp_path: Path) -> None:
    code = (
        "slug:\n  type: str\n  validator: >-\n    {% if slug | length > 9 %}\n"
        "    Keep it to {{ 9 }} characters or fewer\n    (it has {{ slug | length }}).\n"
        "    {% endif %}\n"
    )
    found = finder(tmp_path, "copier.yml", code)
    assert found("Keep it to <limit> characters or fewer (it has <length>).")
    assert not found("Keep it to <limit> characters or fewer.")


@pytest.mark.parametrize(
    "page",
    [
        "```python\nprint('a message')\n```\n",
        "```text\nfirst line\nsecond line\n```\n",
        "```text\n\n```\n",
    ],
)
def test_the_page_format_is_enforced(page: str) -> None:
    with pytest.raises(ValueError, match="must be ```text and one line"):
        quoted_messages(page)
