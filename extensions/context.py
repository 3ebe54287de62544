"""Jinja globals that copier.yml needs for defaults and validators."""

from __future__ import annotations

import json
import keyword
import re
import shutil
import subprocess  # nosec B404 # runs git with fixed arguments, no shell
import sys
from pathlib import Path

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


# Distributions in a rendered project's environment (its locked dev tools, their dependencies
# on every supported Python, the build backend): uv cannot install a project named like one of
# its own dependencies. tests/test_project_check.py checks the list against rendered uv.lock files.
DEPENDENCY_NAMES = frozenset(
    {
        "ast-serialize", "bandit", "cfgv", "colorama", "coverage", "distlib", "editables",
        "exceptiongroup", "filelock", "hatchling", "identify", "iniconfig", "librt",
        "markdown-it-py", "mdurl", "mypy", "mypy-extensions", "nodeenv", "packaging", "pathspec",
        "platformdirs", "pluggy", "pre-commit", "pre-commit-hooks", "pygments", "pytest",
        "pytest-cov", "python-discovery", "pyyaml", "rich", "ruamel-yaml", "ruamel-yaml-clib",
        "ruff", "stevedore", "tomli", "trove-classifiers", "typing-extensions", "uv",
        "virtualenv",
    }
)  # fmt: skip
# Import names of those distributions that differ from the distribution name.
DEPENDENCY_IMPORTS = frozenset({"yaml", "markdown_it", "ruamel", "pre_commit_hooks"})


def reserved_project_names() -> list[str]:
    """Names a distribution (project_slug) must not take: its own dependencies'."""
    return sorted(DEPENDENCY_NAMES)


def reserved_package_names() -> list[str]:
    """Names a package must not take: keywords, stdlib modules, `tests`, dependencies'."""
    stdlib = (name for name in sys.stdlib_module_names if not name.startswith("_"))
    imports = (name.replace("-", "_") for name in DEPENDENCY_NAMES)
    return sorted({*keyword.kwlist, *stdlib, "tests", *imports, *DEPENDENCY_IMPORTS})


# What renders the template; a rendered project's `make template-update` runs the same versions.
RENDER_TOOLS = ("copier", "copier-template-extensions", "jinja2-time")
TEMPLATE_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def template_tools(
    pyproject: Path = TEMPLATE_PYPROJECT,
) -> dict[str, str]:
    """Versions of RENDER_TOOLS, read from their `==` pins in the template's pyproject.toml."""
    text = pyproject.read_text(encoding="utf-8")
    pins = dict(re.findall(r'"([A-Za-z0-9._-]+)==([^";\s]+)"', text))
    missing = [name for name in RENDER_TOOLS if name not in pins]
    if missing:
        raise ValueError(f"{pyproject} pins no version of {', '.join(missing)}")
    return {name: pins[name] for name in RENDER_TOOLS}


class ProjectContext(Extension):
    """Expose git identity, reserved names and tool pins as globals; add `toml_str`."""

    def __init__(self, environment: Environment) -> None:
        """Register the globals once per Jinja environment."""
        super().__init__(environment)
        environment.globals.update(
            git_user_name=git_config("user.name"),
            git_user_email=git_config("user.email"),
            git_github_user=git_config("github.user"),
            reserved_package_names=reserved_package_names(),
            reserved_project_names=reserved_project_names(),
            template_tools=template_tools(),
        )
        environment.filters["toml_str"] = toml_str
