"""Jinja globals that copier.yml needs for defaults and validators."""

from __future__ import annotations

import json
import keyword
import shutil
import subprocess  # nosec B404: runs git with fixed arguments, no shell
import sys

from jinja2 import Environment
from jinja2.ext import Extension


def git_config(key: str) -> str:
    """Return a git config value, or "" when git or the key is missing."""
    git = shutil.which("git")
    if git is None:
        return ""
    try:
        result = subprocess.run(  # nosec B603: fixed argument list
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


def reserved_package_names() -> list[str]:
    """Names a package must not take: keywords, stdlib modules, and `tests`."""
    stdlib = (name for name in sys.stdlib_module_names if not name.startswith("_"))
    return sorted({*keyword.kwlist, *stdlib, "tests"})


class ProjectContext(Extension):
    """Expose git identity and reserved names as globals, and the `toml_str` filter."""

    def __init__(self, environment: Environment) -> None:
        """Register the globals once per Jinja environment."""
        super().__init__(environment)
        environment.globals.update(
            git_user_name=git_config("user.name"),
            git_user_email=git_config("user.email"),
            git_github_user=git_config("github.user"),
            reserved_package_names=reserved_package_names(),
        )
        environment.filters["toml_str"] = toml_str
