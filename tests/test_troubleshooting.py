"""Every error docs/troubleshooting.md quotes is one the code prints.

The page quotes each message in a fenced block of its own (info string `text`, one line), with
`<placeholder>` where the code prints something variable. This module reads the string
literals of the code (copier.yml, template/ without its tests, hooks/, extensions/, .ci/, the
Makefile) into templates: literal text with holes where the code puts a variable part, as
f-string `{...}`, printf `%s`, shell and make `$var`, `${...}`, `$(...)`, and Jinja `{{ ... }}`
(Python through `ast`, after a .jinja file's tags are dropped; shell and make by a scanner of
their quotes, heredocs and `$(error ...)`; copier.yml through YAML, each string split at its
Jinja tags). A quoted message is found when some template matches it whole:

- a literal part of the message must equal the template's text, except that each run of
  whitespace counts as one space on both sides and a template is stripped at its two ends: a
  line that a YAML validator or a shell heredoc wraps is one line on screen. Before that,
  Python's parser joins adjacent literals ("a " "b"), and the YAML parser folds `>-` scalars;
- a `<placeholder>` of the message stands for one hole (or for the same text, `<...>` and all,
  when the code prints it literally);
- a hole may also be filled by another whole template of the same file (or of the same Python
  package: a service's cli.py prints what its programs.py raises), at most three levels deep:
  that is how `release: {problem}: {remedy}` gets the problem and remedy its callers pass, or
  `setup: error: %s` the argument of `die`. `NAME + rest` reads a module's string constant
  NAME. A message put together from real pieces of one file in an order the code never prints
  would pass: this proves that each piece is real and where it sits in its own template, not
  the call graph.

Docstrings, comments and test files never count: a message must be something the code says.
A changed word, a placeholder where the code has fixed text and an invented line are each
reported (the tests at the end of this module).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from helpers import ROOT

PAGE = ROOT / "docs" / "troubleshooting.md"
# Where the messages users see come from; the template's own tests are not code that prints.
SOURCES = ("copier.yml", "template", "hooks", "extensions", ".ci", "Makefile")
SKIPPED_DIRS = {"tests", "__pycache__"}
# How deep one template's holes may be filled by other templates of the same file or package.
MAX_DEPTH = 3
# A message's variable part as the page writes it: `<version>`, `<file name>`.
PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9 _./:='-]*>")
# A Jinja expression, and what stands in for one in a .jinja file before it is parsed.
JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
JINJA_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
JINJA_STAND_IN = "__jinja__"
# printf's and Python's %-conversions (no space flag: "50% done" is text).
PRINTF = re.compile(r"%(?:\([A-Za-z_]\w*\))?[-#0+]*\d*(?:\.\d+)?[sdirfx]")
HOLE = "\0"
# A shell variable's name after `$`, or a special one (`$1`, `$@`; make's `$<`, `$^`).
SHELL_VARIABLE = re.compile(r"[A-Za-z_]\w*|[0-9@*#?$!<^-]")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)(?P<info>.*)$")


def template(text: str) -> tuple[str, ...]:
    """Split text with holes (HOLE) into its literal parts, each run of whitespace one space.

    The ends are kept: `"first: " + rest` needs the space. A template matched on its own (not
    filling a hole) is stripped first (`stripped`).
    """
    return tuple(re.sub(r"\s+", " ", text).split(HOLE))


def stripped(parts: tuple[str, ...]) -> tuple[str, ...]:
    """A template without the whitespace at its start and end."""
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


# --- Python -------------------------------------------------------------------------------


def python_text(node: ast.expr, names: dict[str, str] | None = None) -> str | None:
    """The text of a string expression with HOLE for its variable parts; None if not one.

    `names` are the module's string constants: `LEFT + ", ".join(files)` is their text and a
    hole, where `{LEFT}` in an f-string is a hole another template may fill.
    """
    if isinstance(node, ast.Name) and names is not None:
        return names.get(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return literal(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(
            literal(part.value)
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
            else HOLE
            for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = python_text(node.left, names), python_text(node.right, names)
        if left is None and right is None:
            return None
        return (left if left is not None else HOLE) + (right if right is not None else HOLE)
    return None


def python_templates(source: str) -> Iterator[str]:
    """Every string expression of a Python module but docstrings and pieces of bigger ones."""
    tree = ast.parse(source)
    names = {
        statement.targets[0].id: text
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and isinstance(statement.targets[0], ast.Name)
        and (text := python_text(statement.value)) is not None
    }
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
        if isinstance(node, ast.expr) and id(node) not in inner:
            text = python_text(node, names)
            if text is not None:
                yield text


# --- shell and make -----------------------------------------------------------------------


@dataclass
class ShellScanner:
    """The quoted strings, heredoc lines and make $(error ...) texts of a shell or make file."""

    source: str
    make: bool = False
    found: list[str] = field(default_factory=list)

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
            inner = ShellScanner(self.source[start + 2 : index - 1], self.make)
            self.found.extend(inner.scan())
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

    def double_quoted(self, start: int) -> tuple[str, int]:
        """The text of the "..." at `start`, HOLE for each variable part; the index past it."""
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
                end = self.variable_end(index)
                text.append(HOLE if end > index + 1 else "$")
                index = end
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
            index = end + 1
            if line.strip() == delimiter:
                break
            self.found.append(line if quoted else self.double_quoted_text(line))
        return index

    def double_quoted_text(self, line: str) -> str:
        """A heredoc line read as a double-quoted string would be."""
        escaped = line.replace('"', '\\"')
        return ShellScanner(f'"{escaped}"', self.make).double_quoted(0)[0]

    def scan(self) -> list[str]:
        """Collect the strings of the whole source."""
        source, index = self.source, 0
        heredocs: list[re.Match[str]] = []
        heredoc_operator = re.compile(r"<<-?\s*(?P<word>'[^']+'|\"[^\"]+\"|[A-Za-z_]\w*)")
        make_function = re.compile(r"\$\((?:error|warning|info) ")
        while index < len(source):
            char = source[index]
            if char == "\n" and heredocs:
                for match in heredocs:
                    index = self.heredoc(index, match)
                heredocs = []
                continue
            if char == "#" and (index == 0 or source[index - 1] in " \t\n;"):
                index = source.find("\n", index)
                index = len(source) if index < 0 else index
            elif char == "\\":
                index += 2
            elif char == "'" or (char == "$" and source[index + 1 : index + 2] == "'"):
                start = index + (char == "$")
                end = source.find("'", start + 1)
                end = len(source) if end < 0 else end
                text = source[start + 1 : end]
                self.found.append(text.replace("\\n", "\n").replace("\\t", "\t"))
                index = end + 1
            elif char == '"':
                text, index = self.double_quoted(index)
                self.found.append(text.replace("\\n", "\n"))
            elif self.make and make_function.match(source, index):
                end = self.substitution_end(index)
                words = source[index + 2 : end - 1].split(" ", 1)[1]
                self.found.append(self.double_quoted_text(words))
                index = end
            elif char == "$" and source[index + 1 : index + 2] in ("(", "{"):
                index = self.substitution_end(index)
            elif source.startswith("<<<", index):  # a here-string
                index += 3
            elif char == "<" and (operator := heredoc_operator.match(source, index)):
                heredocs.append(operator)
                index = operator.end()
            else:
                index += 1
        return self.found


def shell_templates(source: str, *, make: bool = False) -> list[str]:
    """The strings of shell or make code, their %-conversions holes too (printf formats)."""
    return [literal(text) for text in ShellScanner(source, make).scan()]


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


def yaml_templates(source: str) -> Iterator[str]:
    """The text between Jinja tags of every string (a validator's messages), and its shell's."""
    for text in yaml_strings(yaml.safe_load(source)):
        yield from (JINJA_EXPRESSION.sub(HOLE, chunk) for chunk in JINJA_TAG.split(text))
        yield from shell_templates(jinja_free(text))


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


def templates_of(path: Path) -> set[tuple[str, ...]]:
    """The templates of one source file."""
    text = path.read_text(encoding="utf-8")
    how = kind(path, text)
    if path.name.endswith(".jinja") and how != "yaml":
        text = jinja_free(text)
    if how == "python":
        found = list(python_templates(text))
    elif how in ("shell", "make"):
        found = shell_templates(text, make=how == "make")
    elif how == "yaml" and not path.name.endswith(".jinja"):
        found = list(yaml_templates(text))
    elif how == "yaml":
        found = shell_templates(jinja_free(text))
    else:
        found = []
    return {template(item) for item in found if item.strip()}


@dataclass
class Source:
    """The templates of one file or Python package, and the matcher of messages against them."""

    path: str
    templates: list[tuple[str, ...]]
    by_first: dict[str, list[int]] = field(default_factory=dict)
    hole_first: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Index the templates by their first character (a hole first: their own list)."""
        for number, parts in enumerate(self.templates):
            if parts[0]:
                self.by_first.setdefault(parts[0][0], []).append(number)
            elif parts != ("", ""):  # a bare hole adds nothing a placeholder does not
                self.hole_first.append(number)

    def matches(self, message: str) -> bool:
        """Whether one template here, stripped, matches all of `message`."""
        memo: dict[tuple[int, int, int], frozenset[int]] = {}

        def match(parts: tuple[str, ...], start: int, depth: int) -> frozenset[int]:
            """Where `parts` can end when they match `message` from `start` on."""
            at = {start + len(parts[0])} if message.startswith(parts[0], start) else set()
            for text in parts[1:]:
                filled = {end for position in at for end in hole(position, depth)}
                at = {end + len(text) for end in filled if message.startswith(text, end)}
            return frozenset(at)

        def hole(start: int, depth: int) -> set[int]:
            """Where a hole can end: after a placeholder, or a template one level deeper."""
            found = set()
            if placeholder := PLACEHOLDER.match(message, start):
                found.add(placeholder.end())
            if depth > 0:
                starting = self.by_first.get(message[start : start + 1], [])
                for number in [*starting, *self.hole_first]:
                    key = (number, start, depth - 1)
                    if key not in memo:
                        memo[key] = match(self.templates[number], start, depth - 1)
                    found |= memo[key]
            return found

        return any(
            len(message) in match(stripped(parts), 0, MAX_DEPTH)
            for parts in self.templates
            if parts != ("", "")
        )


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

    A service's cli.py prints what its programs.py and db.py raise, so a package's templates
    fill each other's holes; separate scripts never do.
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
    units: dict[Path, set[tuple[str, ...]]] = {}
    for path in source_files(root):
        units.setdefault(unit_of(path, root), set()).update(templates_of(path))
    return [
        Source(str(unit.relative_to(root)), sorted(found)) for unit, found in units.items() if found
    ]


def where(message: str, among: list[Source]) -> list[str]:
    """The files (or packages) whose code prints `message`."""
    normal = " ".join(message.split())
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
    source = Source(name, sorted(templates_of(path)))
    return lambda message: source.matches(" ".join(message.split()))


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
        # A message the code prints, as a control.
        ("release: push <branch> first: it is <count> commit(s) ahead of <upstream>", True),
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
