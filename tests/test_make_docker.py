"""The rendered Makefile's `docker-*` targets against a stand-in docker CLI (no Docker engine runs
here), and without Docker or its Compose plugin: one line that says what to install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import clean_env, run
from project import ALL_SERVICES, Project, Renderer

# A stand-in docker CLI: logs each call (with the IMAGE and TAG that compose would read) and
# succeeds; with NO_COMPOSE set it answers like a docker without the Compose plugin.
STAND_IN_DOCKER = """#!/usr/bin/env bash
if [ "$1" = compose ]; then
  if [ -n "${NO_COMPOSE:-}" ]; then
    echo "docker: 'compose' is not a docker command." >&2
    exit 1
  fi
  printf 'IMAGE=%s TAG=%s ' "${IMAGE:-}" "${TAG:-}" >> "$DOCKER_LOG"
fi
echo "docker $*" >> "$DOCKER_LOG"
"""
MAKE_ERROR = re.compile(r"^make(\[\d+\])?: \*\*\* ")


@pytest.fixture(scope="module")
def docker_project(renderer: Renderer) -> Path:
    """The full service, without setup (the Docker targets need no .venv); tests change it."""
    return renderer.render(services=ALL_SERVICES, use_docker=True).path


def docker_targets(project: Path) -> list[str]:
    """The Docker targets `make help` lists."""
    return sorted(t for t in Project(project).help_targets() if t.startswith("docker-"))


def own_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What a failed target printed, without make's own `*** ... Error N` line."""
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if not MAKE_ERROR.match(line)]


def test_docker_targets_without_docker_fail_with_one_clear_line(
    docker_project: Path, tmp_path: Path
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "awk"):
        (tools / name).symlink_to(str(shutil.which(name)))
    make_path = str(shutil.which("make"))
    no_docker_on_path = {"PATH": str(tools), "HOME": str(tmp_path), "REGISTRY": "r.example.com"}
    targets = docker_targets(docker_project)
    assert len(targets) == 8
    for target in targets:
        results = [
            run([make_path, target], docker_project, env=no_docker_on_path, check=False),
            run(["make", target, "DOCKER=/nonexistent"], docker_project, check=False),
        ]
        for result in results:
            assert result.returncode != 0, target
            lines = own_lines(result)
            assert len(lines) == 1, (target, lines)
            assert lines[0].startswith(f"{target}: ")
            assert "docker" in lines[0].lower()
            assert "install" in lines[0]
            assert "https://docs.docker.com/" in lines[0]
    assert not (docker_project / ".env").exists()


def with_stand_in_docker(tmp_path: Path, log: Path, **extra: str) -> dict[str, str]:
    """A user's environment whose `docker` is STAND_IN_DOCKER, logging its calls to `log`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(STAND_IN_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    env = clean_env(DOCKER_LOG=str(log), **extra)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def test_docker_targets_run_the_docker_cli(docker_project: Path, tmp_path: Path) -> None:
    log = tmp_path / "docker.log"
    env = with_stand_in_docker(tmp_path, log)

    def calls(*args: str) -> list[str]:
        log.write_text("")
        run(["make", *args], docker_project, env=env)
        return [line.rstrip() for line in log.read_text().splitlines()]

    assert "docker build" in run(["make", "-n", "docker-build"], docker_project).stdout
    assert calls("docker-build") == [
        "docker build --build-arg VERSION=0.1.0 --tag acme-billing:latest ."
    ]
    assert calls("docker-build", "IMAGE=registry.example.com/acme/billing", "TAG=1.2.3") == [
        "docker build --build-arg VERSION=0.1.0 --tag registry.example.com/acme/billing:1.2.3 ."
    ]
    volume = "--volume acme-billing-var:/app/var"
    assert calls("docker-run") == [
        f"docker run --rm --env HOST=0.0.0.0 --env PORT=8000 {volume} acme-billing:latest "
        "python -m acme_billing migrate",
        f"docker run --rm --env HOST=0.0.0.0 --env PORT=8000 {volume} --init "
        "--publish 127.0.0.1:8000:8000 acme-billing:latest",
    ]
    push = calls("docker-push", "REGISTRY=registry.example.com/team/", "TAG=0.1.0")
    assert push == [
        "docker tag acme-billing:0.1.0 registry.example.com/team/acme-billing:0.1.0",
        "docker push registry.example.com/team/acme-billing:0.1.0",
    ]
    compose = "IMAGE=acme-billing TAG=latest docker compose"
    env_file = docker_project / ".env"
    try:
        assert calls("docker-compose-up") == [
            "IMAGE= TAG= docker compose version",
            f"{compose} up --build --detach --wait",
        ]
        # make env made it, with the passwords compose requires.
        made = env_file.read_text().splitlines()
        assert any(re.fullmatch(r"FLOWER_BASIC_AUTH=admin:[A-Za-z0-9]{24}", line) for line in made)
        assert any(re.fullmatch(r"REDIS_PASSWORD=[A-Za-z0-9]{24}", line) for line in made)
        serve = calls("docker-run", "PORT=8080")[1]
        assert "--env-file .env --env HOST=0.0.0.0" in serve
        assert "--publish 127.0.0.1:8080:8000" in serve
        assert calls("docker-compose-down", "COMPOSE_ARGS=--volumes")[1:] == [
            f"{compose} down --remove-orphans --volumes"
        ]
        assert calls("docker-compose-logs", "COMPOSE_ARGS=worker")[1:] == [
            f"{compose} logs --follow --tail 100 worker"
        ]
        assert calls("docker-compose-ps")[1:] == [f"{compose} ps --all"]
        assert calls("docker-compose-config", "TAG=0.2.0")[1:] == [
            "IMAGE=acme-billing TAG=0.2.0 docker compose config"
        ]
    finally:
        env_file.unlink(missing_ok=True)


def test_docker_push_needs_a_registry_and_compose_its_plugin(
    docker_project: Path, tmp_path: Path
) -> None:
    log = tmp_path / "docker.log"
    env = with_stand_in_docker(tmp_path, log, NO_COMPOSE="1")
    result = run(["make", "docker-push"], docker_project, env=env, check=False)
    assert result.returncode != 0
    assert own_lines(result) == [
        "docker-push: set REGISTRY, e.g. make docker-push REGISTRY=registry.example.com/team "
        "TAG=0.1.0"
    ]
    for target in [t for t in docker_targets(docker_project) if t.startswith("docker-compose-")]:
        result = run(["make", target], docker_project, env=env, check=False)
        assert result.returncode != 0
        assert own_lines(result) == [
            f"{target}: 'docker compose' does not work: install the Docker Compose plugin "
            "(https://docs.docker.com/compose/install/) or set COMPOSE"
        ]
    assert not log.exists()
    assert not (docker_project / ".env").exists()
