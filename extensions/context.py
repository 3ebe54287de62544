"""Jinja globals that copier.yml needs for defaults and validators."""

from __future__ import annotations

import json
import keyword
import re
import shutil
import subprocess  # nosec B404 # runs git with fixed arguments, no shell
import sys
import time
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


# Distributions in a rendered project's environment (its locked dev tools, a service's
# dependencies, theirs on every supported Python, the build backend): uv cannot install a
# project named like one of its own dependencies. tests/test_project_check.py checks the list
# against rendered uv.lock files.
DEPENDENCY_NAMES = frozenset(
    {
        "alembic", "amqp", "annotated-doc", "annotated-types", "anyio", "ast-serialize",
        "async-timeout", "bandit", "billiard", "celery", "celery-types", "cfgv", "click",
        "click-didyoumean", "click-plugins", "click-repl", "colorama", "coverage", "distlib",
        "editables", "exceptiongroup", "fastapi", "filelock", "flower", "h11", "hatchling",
        "httpcore2", "httpx2", "httpx2-jsfetch", "humanize", "identify", "idna", "iniconfig",
        "kombu", "librt", "mako", "markdown-it-py", "markupsafe", "mdurl", "mypy",
        "mypy-extensions", "nodeenv", "opentelemetry-api", "packaging", "pathspec", "platformdirs",
        "pluggy", "pre-commit", "pre-commit-hooks", "prometheus-client", "prompt-toolkit",
        "psycopg", "psycopg-binary", "pydantic", "pydantic-core", "pydantic-settings", "pygments",
        "pytest", "pytest-cov", "python-dateutil", "python-discovery", "python-dotenv", "pytz",
        "pyyaml", "redis", "rich", "ruamel-yaml", "ruamel-yaml-clib", "ruff", "six", "sqlalchemy",
        "starlette", "stevedore", "tomli", "tornado", "trove-classifiers", "truststore",
        "typing-extensions", "typing-inspection", "tzdata", "tzlocal", "uv", "uvicorn", "vine",
        "virtualenv", "wcwidth",
    }
)  # fmt: skip
# Import names of those distributions that differ from the distribution name.
DEPENDENCY_IMPORTS = frozenset(
    {"yaml", "markdown_it", "ruamel", "pre_commit_hooks", "dateutil", "dotenv", "opentelemetry"}
)


def reserved_project_names() -> list[str]:
    """Names a distribution (project_slug) must not take: its own dependencies'."""
    return sorted(DEPENDENCY_NAMES)


def reserved_package_names() -> list[str]:
    """Names a package must not take: keywords, stdlib modules, `tests`, dependencies'."""
    stdlib = (name for name in sys.stdlib_module_names if not name.startswith("_"))
    imports = (name.replace("-", "_") for name in DEPENDENCY_NAMES)
    return sorted({*keyword.kwlist, *stdlib, "tests", *imports, *DEPENDENCY_IMPORTS})


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
    """Expose git identity, reserved names and tool pins as globals; add the quoting filters."""

    def __init__(self, environment: Environment) -> None:
        """Register the globals once per Jinja environment."""
        super().__init__(environment)
        environment.globals.update(
            # The LICENSE's copyright year (UTC), without a date extension to import.
            current_year=time.gmtime().tm_year,
            git_user_name=git_config("user.name"),
            git_user_email=git_config("user.email"),
            git_github_user=git_config("github.user"),
            recorded_answer=recorded_answer,
            reserved_package_names=reserved_package_names(),
            reserved_project_names=reserved_project_names(),
            template_tools=template_tools(),
            uv_version=uv_version(),
        )
        environment.filters["toml_str"] = toml_str
        environment.filters["dockerfile_str"] = dockerfile_str
