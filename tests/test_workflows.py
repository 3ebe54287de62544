"""GitHub files cannot run here, so the real validators check them (tests/linters.py), for
every variant and for the template's own. And ci.yml's jobs follow each variant: the integration
job on compose.yaml's images with the app's variables, the image job built and checked as make
docker-build and compose run it, the pre-commit job. tests/test_ci_jobs.py runs what those jobs
run."""

from __future__ import annotations

import json
import re
import shlex
import sys
import urllib.parse
from typing import Any

import pytest
import yaml

from compose import (
    SERVICE_VARIABLES,
    compose_environment,
    compose_services,
    interpolate,
    without_password,
)
from helpers import ROOT, clean_env, load_extension, run
from linters import VALIDATORS
from project import Project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def with_github_files(rendered: Project) -> Project:
    """`rendered`, or a skip when this variant has no GitHub files."""
    if not (rendered.on("use_github_actions") or rendered.on("use_dependabot")):
        pytest.skip("no GitHub files in this variant")
    return rendered


@pytest.mark.parametrize("validator", sorted(VALIDATORS))
def test_rendered_github_files_pass(validator: str, rendered: Project) -> None:
    VALIDATORS[validator](with_github_files(rendered).path)


@pytest.mark.parametrize("validator", sorted(VALIDATORS))
def test_the_templates_own_workflows_pass(validator: str) -> None:
    VALIDATORS[validator](ROOT)


def test_ci_matrix_covers_every_supported_version(rendered: Project) -> None:
    rendered.skip_unless("use_github_actions")
    ci = yaml.safe_load((rendered.path / ".github" / "workflows" / "ci.yml").read_text())
    low = int(rendered.answers["python_min_version"].split(".")[1])
    high = int(rendered.answers["python_version"].split(".")[1])
    matrix = ci["jobs"]["check"]["strategy"]["matrix"]["python"]
    assert matrix == [f"3.{minor}" for minor in range(low, high + 1)]
    steps = [step.get("run", "") for step in ci["jobs"]["check"]["steps"]]
    assert "make check" in steps


def test_every_workflow_sets_up_the_uv_the_template_pins(rendered: Project) -> None:
    """The uv of CI, releases and template-sync is the one the Dockerfile and setup use."""
    rendered.skip_unless("use_github_actions")
    pinned = load_extension().uv_version()
    versions = []
    for path in sorted((rendered.path / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("astral-sh/setup-uv@"):
                    versions.append((path.name, step["with"]["version"]))
    assert versions
    assert {version for _, version in versions} == {pinned}, versions


def test_dependabot_watches_what_the_variant_has(rendered: Project) -> None:
    rendered.skip_unless("use_dependabot")
    expected = ["uv"]
    if rendered.on("use_github_actions"):
        expected.append("github-actions")
    if rendered.on("use_docker"):
        expected += ["docker", "docker-compose"]
    dependabot = yaml.safe_load((rendered.path / ".github" / "dependabot.yml").read_text())
    updates = dependabot["updates"]
    assert [update["package-ecosystem"] for update in updates] == expected
    assert all(update["cooldown"]["default-days"] == 7 for update in updates)


# The jobs of ci.yml: which exist, and what each runs.
COMPOSE_TEMPLATE = ROOT / "template" / "{% if use_docker %}compose.yaml{% endif %}.jinja"
# A backing service's image in compose.yaml's template: `  postgres:` then `    image: ...`.
TEMPLATE_IMAGE = re.compile(r"^  ([a-z]+):\n    image: (\S+)$", re.MULTILINE)
# The host and port of each backing service inside the compose network.
COMPOSE_HOSTS = {"postgres": "postgres:5432", "redis": "redis:6379"}
# Where the Dockerfile's HEALTHCHECK command starts.
# Its options may continue on further lines (\), up to CMD.
HEALTHCHECK_CMD = re.compile(r"^HEALTHCHECK (?:[^\n]*\\\n)*?\s*CMD (\[[^\n]*\])$", re.MULTILINE)


def ci_jobs(rendered: Project) -> dict[str, Any]:
    """The jobs of the variant's ci.yml (skip when it has none)."""
    rendered.skip_unless("use_github_actions")
    workflow = yaml.safe_load((rendered.path / ".github" / "workflows" / "ci.yml").read_text())
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    jobs: dict[str, Any] = workflow["jobs"]
    return jobs


def step_runs(job: dict[str, Any]) -> list[str]:
    """The `run:` scripts of a job's steps, in order (steps that use an action are left out)."""
    return [step["run"] for step in job["steps"] if "run" in step]


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    """The step of `job` that uses `action` (owner/name)."""
    found = [step for step in job["steps"] if step.get("uses", "").startswith(action + "@")]
    assert len(found) == 1, (action, found)
    step: dict[str, Any] = found[0]
    return step


def backing_services(rendered: Project) -> list[str]:
    """The servers a variant's services need: Celery runs on Redis, it has none of its own."""
    return [name for name in rendered.services if name in COMPOSE_HOSTS]


def compose_images(rendered: Project) -> dict[str, str]:
    """The image of each backing service in compose.yaml (the template's when the variant has
    no compose.yaml: its images do not depend on the answers)."""
    services = compose_services(rendered)
    if services is None:
        return dict(TEMPLATE_IMAGE.findall(COMPOSE_TEMPLATE.read_text()))
    return {name: spec["image"] for name, spec in services.items() if name in COMPOSE_HOSTS}


def published_port(service: dict[str, Any]) -> int:
    """The runner's port a service container publishes (its one `ports:` entry, HOST:CONTAINER)."""
    [mapping] = service["ports"]
    return int(str(mapping).split(":")[0])


def option(options: str, name: str) -> str:
    """The value of `--name VALUE` in a service container's `options:`."""
    words = shlex.split(options)
    assert name in words, (name, words)
    return words[words.index(name) + 1]


def test_ci_has_a_job_for_each_part_of_the_variant(rendered: Project) -> None:
    jobs = ci_jobs(rendered)
    expected = {"check"}
    expected |= {"integration"} if rendered.services else set()
    expected |= {"image"} if rendered.on("use_docker") else set()
    expected |= {"pre-commit"} if rendered.on("use_pre_commit") else set()
    expected |= {"docs"} if rendered.on("use_docs") else set()
    assert set(jobs) == expected
    for name, job in jobs.items():
        assert job["permissions"] == {"contents": "read"}, name
        assert 0 < job["timeout-minutes"] <= 30, name  # the longest, image
        checkout = step_using(job, "actions/checkout")
        assert checkout["with"]["persist-credentials"] is False, name
        assert job["steps"][0] is checkout, name


def test_the_integration_job_runs_the_compose_images(rendered: Project) -> None:
    """Same images as compose.yaml, health-checked as there, the app's variables pointing at
    the published ports; then setup, migrations and `make test-integration`."""
    jobs = ci_jobs(rendered)
    if not rendered.services:
        pytest.skip("no backing service in this variant")
    job = jobs["integration"]
    containers = job["services"]
    assert sorted(containers) == sorted(backing_services(rendered))
    images = compose_images(rendered)
    for name, container in containers.items():
        assert container["image"] == images[name], name
        assert option(container["options"], "--health-cmd"), name
        assert option(container["options"], "--health-interval"), name
    env = job["env"]
    expected = [v for service in rendered.services for v in SERVICE_VARIABLES[service]]
    assert sorted(name for name in env if name.endswith("_URL") or name.startswith("CELERY_")) == (
        sorted(expected)
    )
    for service in rendered.services:
        server = "postgres" if service == "postgres" else "redis"
        port = published_port(containers[server])
        for variable in SERVICE_VARIABLES[service]:
            assert urllib.parse.urlsplit(env[variable]).port == port, variable
    if "postgres" in containers:
        postgres = containers["postgres"]
        url = urllib.parse.urlsplit(env["DATABASE_URL"])
        credentials = {
            "POSTGRES_USER": url.username,
            "POSTGRES_PASSWORD": url.password,
            "POSTGRES_DB": url.path.lstrip("/"),
        }
        assert postgres["env"] == credentials
    assert step_runs(job)[-2:] == ["make migrate", "make test-integration"]
    assert any(run.startswith("make setup") for run in step_runs(job))

    services = compose_services(rendered)
    if services is None:
        return
    # Exactly what compose.yaml gives the app, from compose's defaults (no .env in CI), with
    # each compose host replaced by the runner's published port and no Redis password.
    hosts = {
        COMPOSE_HOSTS[name]: f"127.0.0.1:{published_port(container)}"
        for name, container in containers.items()
    }
    composed = compose_environment(rendered, {"REDIS_PASSWORD": "unused"}, hosts)
    for name in expected:
        url = composed[name]
        assert (without_password(url) if url.startswith("redis") else url) == env[name], name
    if "postgres" in containers:
        # compose's own credentials and health check, as compose resolves them without .env.
        spec = services["postgres"]
        defaults = {k: interpolate(str(v), {}) for k, v in spec["environment"].items()}
        assert containers["postgres"]["env"] == defaults
        check = [interpolate(part, {}) for part in spec["healthcheck"]["test"]]
        assert check[0] == "CMD"
        health = option(containers["postgres"]["options"], "--health-cmd")
        assert shlex.split(health) == check[1:]
    if "redis" in containers:
        # compose's check reads redis-cli's answer because it may be refused (a password);
        # the passwordless one in CI is refused only until the server answers.
        assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
        assert option(containers["redis"]["options"], "--health-cmd") == "redis-cli ping"


def test_the_image_job_builds_checks_and_tears_down_the_stack(rendered: Project) -> None:
    """Built as make docker-build builds it, under the name compose.yaml runs; health-checked
    alone by its own HEALTHCHECK, then /ready through the compose stack; always torn down."""
    jobs = ci_jobs(rendered)
    if not rendered.on("use_docker"):
        assert "image" not in jobs
        pytest.skip("use_docker is off in this variant")
    job = jobs["image"]
    env = job["env"]
    steps = job["steps"]
    buildx = step_using(job, "docker/setup-buildx-action")
    build = step_using(job, "docker/build-push-action")
    assert steps.index(buildx) < steps.index(build)
    options = build["with"]
    assert options["load"] is True
    assert options["push"] is False
    assert options["context"] == "."
    assert options["cache-from"] == "type=gha"
    assert options["cache-to"] == "type=gha,mode=max"
    assert options["tags"] == "${{ env.IMAGE }}:${{ env.TAG }}"
    # compose.yaml runs the image built here.
    services = compose_services(rendered)
    assert services is not None
    built = f"{env['IMAGE']}:{env['TAG']}"
    assert interpolate(services["app"]["image"], env) == built
    assert env["IMAGE"] == rendered.answers["project_slug"]

    # VERSION as make docker-build passes it: the same command (scripts/release.py version, the
    # release checks' reader), giving pyproject's version.
    version = next(step for step in steps if step.get("id") == "version")
    assert options["build-args"] == "VERSION=${{ steps.version.outputs.version }}"
    makefile = (rendered.path / "Makefile").read_text()
    program = re.search(r"^PROJECT_VERSION = (.+)$", makefile, re.MULTILINE)
    assert program is not None
    # The Makefile's python is .venv's once set up, else python3: the runner's here.
    assert program.group(1) == "$(SCRIPT_PYTHON) scripts/release.py version"
    assert "$(python3 scripts/release.py version)" in version["run"]
    output = rendered.path / "github-output.txt"
    try:
        env_out = clean_env(GITHUB_OUTPUT=str(output))
        run(["bash", "-e", "-c", version["run"]], rendered.path, env=env_out)
        made = output.read_text()
    finally:
        output.unlink(missing_ok=True)
    pyproject = tomllib.loads((rendered.path / "pyproject.toml").read_text())
    assert made == f"version={pyproject['project']['version']}\n"

    runs = step_runs(job)
    lone = 'python3 scripts/smoke.py image "$IMAGE:$TAG"'
    up = next(r for r in runs if r.startswith("docker compose up"))
    ready = next(r for r in runs if "smoke.py ready" in r)
    assert runs.index(lone) < runs.index("make env") < runs.index(up) < runs.index(ready)
    assert {"--wait", "--no-build", "--detach"} <= set(up.split())
    by_run = {step["run"]: step for step in steps if "run" in step}
    logs = next(r for r in runs if r.startswith("docker compose logs"))
    down = next(r for r in runs if r.startswith("docker compose down"))
    assert by_run[logs]["if"] == "failure()"
    assert by_run[down]["if"] == "always()"
    assert "--volumes" in down.split()
    assert runs.index(ready) < runs.index(logs) < runs.index(down)

    # Alone, the image is healthy by its own HEALTHCHECK (smoke.py never replaces the command,
    # tests/test_ci_jobs.py): the one compose.yaml's app runs too.
    dockerfile = (rendered.path / "Dockerfile").read_text()
    command = HEALTHCHECK_CMD.search(dockerfile)
    assert command is not None
    assert services["app"]["healthcheck"]["test"] == ["CMD", *json.loads(command.group(1))]
    # /ready on the port compose publishes the app on, a route of the app, and every check the
    # app's readiness lists for this variant. compose reads PORT from the job's environment
    # over .env's, so the two agree whatever PORT .env (make env) sets.
    words = shlex.split(ready)
    assert words[:3] == ["python3", "scripts/smoke.py", "ready"]
    assert env["PORT"] == "8000"
    published = interpolate(services["app"]["ports"][0], {"PORT": "18080", **env})
    url = urllib.parse.urlsplit(interpolate(words[3], env))  # bash expands it from env alike
    assert published == f"{url.hostname}:{url.port}:8000"
    assert url.path == "/ready"
    health = rendered.path / "src" / rendered.package / "api" / "health.py"
    assert '@router.get("/ready"' in health.read_text()
    readiness = (rendered.path / "src" / rendered.package / "services.py").read_text()
    assert words[4:] == re.findall(r'^    "(\w+)": Dependency\(', readiness, re.MULTILINE)


def test_the_pre_commit_job_runs_every_hook(rendered: Project) -> None:
    jobs = ci_jobs(rendered)
    if not rendered.on("use_pre_commit"):
        assert "pre-commit" not in jobs
        pytest.skip("use_pre_commit is off in this variant")
    runs = step_runs(jobs["pre-commit"])
    setup = next(i for i, r in enumerate(runs) if r.startswith("make setup"))
    assert runs[setup + 1 :] == ["make pre-commit"]
    assert "pre-commit run --all-files" in (rendered.path / "Makefile").read_text()
