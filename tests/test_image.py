"""The service's image, really built (buildah, against local stand-ins of its base images) and
run: unprivileged, importable, healthy by its own HEALTHCHECK against its own CMD."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import BIN, free_port, load_extension
from images import (
    build,
    cached_steps,
    inspect_image,
    remove_image,
    require_buildah,
    run_in,
    running_in,
    stand_in_python_image,
    stand_in_uv_image,
)
from project import Renderer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("image")]

# The stand-in of python:3.11-slim is Debian bookworm's Python (no Debian release has 3.12).
PYTHON = "3.11"
TAG = "localhost/acme-billing-test:latest"


@pytest.fixture(scope="module")
def project(renderer: Renderer) -> Iterator[Path]:
    """The full service variant, locked; its image is built once and removed at the end."""
    require_buildah()
    stand_in_python_image(PYTHON)
    stand_in_uv_image(load_extension().uv_version())
    made = renderer.render("defaults", python_version=PYTHON, python_min_version=PYTHON)
    made.run([str(BIN / "uv"), "lock", "--quiet"])
    build(made.path, TAG)
    yield made.path
    remove_image(TAG)


@pytest.fixture(scope="module")
def image(project: Path) -> dict[str, Any]:
    """The image's Docker config (user, environment, command, health check)."""
    data = inspect_image(TAG)
    assert data is not None
    config: dict[str, Any] = data["Docker"]["config"]
    return config


def test_the_user_is_not_root(image: dict[str, Any]) -> None:
    assert image["User"] == "10001:10001"
    assert run_in(TAG, ["id", "-u"]).stdout.strip() == "10001"
    # Only /app/var is writable; the code is not.
    assert run_in(TAG, ["touch", "/app/var/probe"]).returncode == 0
    assert run_in(TAG, ["touch", "/app/.venv/probe"], check=False).returncode != 0


def test_the_app_imports_from_the_environment_alone(image: dict[str, Any]) -> None:
    code = "import acme_billing.app, sys; print(acme_billing.app.__file__, sys.prefix)"
    out = run_in(TAG, ["python", "-c", code]).stdout
    assert out.startswith("/app/.venv/lib/")
    assert out.split()[1] == "/app/.venv"
    assert "pytest" not in run_in(TAG, ["python", "-m", "pip", "list"], check=False).stdout


def test_nothing_secret_is_in_the_image(image: dict[str, Any]) -> None:
    names = {entry.split("=", 1)[0] for entry in image["Env"]}
    assert not names & {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "FLOWER_BASIC_AUTH"}
    assert "ENVIRONMENT=production" in image["Env"]
    assert run_in(TAG, ["ls", "-A", "/app"]).stdout.split() == [".venv", "var"]
    assert not run_in(TAG, ["find", "/app", "-name", ".env*"]).stdout


def test_healthcheck_passes_against_the_images_own_command(image: dict[str, Any]) -> None:
    health = image["Healthcheck"]["Test"]
    assert health[0] == "CMD"
    port = free_port()
    # A deployment of an older release may still set SECRET_KEY, which nothing reads now.
    env = {"PORT": str(port), "HOST": "127.0.0.1", "SECRET_KEY": "from-an-older-release"}
    assert run_in(TAG, health[1:], env=env, check=False).returncode == 1  # nothing listens yet
    with running_in(TAG, image["Cmd"], port=port, env=env):
        result = run_in(TAG, health[1:], env=env, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_source_change_rebuilds_only_the_project_layers(
    project: Path, image: dict[str, Any]
) -> None:
    # A change no earlier run made: buildah's layer cache outlives the test.
    change = f"so it is quick ({uuid.uuid4().hex})."
    module = project / "src" / "acme_billing" / "healthcheck.py"
    module.write_text(module.read_text().replace("so it is quick.", change))
    result = build(project, TAG)
    steps = cached_steps(result.stdout + result.stderr)
    dependencies = [step for step in steps if "--no-install-project" in step]
    assert dependencies
    assert all(steps[step] for step in dependencies), "the dependency layer was rebuilt"
    assert steps["COPY --from=deps /app/.venv /app/.venv"]
    assert not steps["COPY src ./src"]
    code = "import acme_billing.healthcheck as h; print(h.__doc__)"
    assert change in run_in(TAG, ["python", "-c", code]).stdout
