"""A rendered service's compose.yaml, read as compose reads it: the commands of the services
that run the project's image, their environment interpolated from a .env, and those commands
run natively from the project's .venv (no Docker engine here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from project import Project

# ${NAME}, ${NAME:-default}, ${NAME:?error} and $$, as compose interpolates them.
COMPOSE_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}")


# The variables compose.yaml gives the app for each backing service.
SERVICE_VARIABLES = {
    "postgres": ["DATABASE_URL"],
    "redis": ["REDIS_URL"],
    "celery": ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"],
}


def compose_services(project: Project) -> dict[str, Any] | None:
    """compose.yaml's services, or None when the project has no compose.yaml."""
    path = project.path / "compose.yaml"
    if not path.exists():
        return None
    services: dict[str, Any] = yaml.safe_load(path.read_text())["services"]
    return services


def compose_commands(project: Project) -> dict[str, list[str]]:
    """The command of every compose service that runs the project's image."""
    services = compose_services(project)
    assert services is not None
    return {
        name: spec["command"]
        for name, spec in services.items()
        if spec["image"].startswith("${IMAGE") and "command" in spec
    }


def interpolate(text: str, values: Mapping[str, str]) -> str:
    """`text` as compose interpolates it from `values` (.env): a required one that is missing
    fails the test, as compose would refuse to start."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        value = values.get(name, "")
        if not value and operator == "?":
            pytest.fail(f"compose refuses to start: {name}: {argument}")
        return value or (argument if operator == "-" else "")

    return COMPOSE_VARIABLE.sub(one, text)


def compose_environment(
    project: Project, values: Mapping[str, str], hosts: Mapping[str, str]
) -> dict[str, str]:
    """The app's `environment:` in compose.yaml, interpolated from `values` (.env), with each
    compose host (postgres:5432, redis:6379) replaced by where its server really listens."""
    services = compose_services(project)
    assert services is not None
    resolved = {}
    for name, value in services["app"]["environment"].items():
        text = interpolate(str(value), values)
        for compose_host, real in hosts.items():
            text = text.replace(f"@{compose_host}/", f"@{real}/")
        resolved[name] = text
    return resolved


def without_password(url: str) -> str:
    """`url` with its credentials removed."""
    return re.sub(r"//[^@/]*@", "//", url)


def natively(command: list[str], project: Project, **replace: str) -> list[str]:
    """A compose command run from the project's .venv, with `--option=value`s set."""
    program = project.tool(command[0])
    args = list(command[1:])
    for option, value in replace.items():
        flag = "--" + option
        args = [arg for arg in args if not arg.startswith(flag + "=")]
        if flag in args:
            del args[args.index(flag) : args.index(flag) + 2]
        args.append(f"{flag}={value}")
    return [program, *args]
