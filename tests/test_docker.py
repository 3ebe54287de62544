"""A service's container files (`use_docker`): Dockerfile, .dockerignore and compose.yaml.

No Docker engine runs here, so the real validators check them: hadolint, with no rule ignored,
on the Dockerfile; check-jsonschema with the Compose Specification's schema on compose.yaml.
And they follow the answers: only the chosen backing services, every dependency gated on health
(or on migrate's success), ports on loopback only, nothing from .env baked into the image.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import dev_tool, load_extension, run
from project import Project, Renderer

DOCKER_FILES = ("Dockerfile", ".dockerignore", "compose.yaml")

CELERY = {"worker", "beat", "flower"}
IMAGE_SERVICES = {"app", "migrate", *CELERY}  # the services that run the project's image
# What the app and compose read from the environment (or .env): never baked into the image.
SETTINGS = {
    "LOG_LEVEL", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
    "FLOWER_BASIC_AUTH", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "REDIS_PASSWORD",
}  # fmt: skip
# A Redis URL in compose.yaml: the compose Redis, with REDIS_PASSWORD from .env (required).
COMPOSE_REDIS_URL = re.compile(r"redis://:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379/(\d+)")
# The files Dependabot's docker-compose ecosystem reads (dependabot-core's FileFetcher).
DEPENDABOT_COMPOSE_FILE = re.compile(r"(docker-)?compose(\.[\w-]+)?\.ya?ml", re.IGNORECASE)
# key=word in a LABEL; a word is quoted parts, escaped characters and plain ones.
LABEL_PAIR = re.compile(r'([\w.-]+)=((?:"(?:[^"\\]|\\.)*"|\\.|[^\s"\\])+)')
IMAGE_ENV = {
    "UV_COMPILE_BYTECODE", "UV_LINK_MODE", "UV_PYTHON_DOWNLOADS", "UV_PROJECT_ENVIRONMENT",
    "PATH", "ENVIRONMENT", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "HOST", "PORT",
    "LOG_JSON",
}  # fmt: skip


def with_docker(rendered: Project) -> Project:
    """`rendered`, or a skip when this variant has no container files (`use_docker`)."""
    rendered.skip_unless("use_docker")
    return rendered


def compose(project: Path) -> dict[str, Any]:
    """compose.yaml, parsed (YAML merge keys resolved)."""
    data: dict[str, Any] = yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))
    return data


def instructions(project: Path) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = (project / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            result.append((keyword.upper(), arguments.strip()))
    return result


def unquote(word: str) -> str:
    """One Dockerfile word as Docker reads it: quotes removed, backslash escapes applied."""
    out, quote, chars = [], "", iter(word)
    for char in chars:
        if quote == '"' and char == "\\":
            following = next(chars, "")
            out.append(following if following in '"$\\' else char + following)
        elif quote and char == quote:
            quote = ""
        elif not quote and char in "\"'":
            quote = char
        elif not quote and char == "\\":
            out.append(next(chars, ""))
        else:
            out.append(char)
    return "".join(out)


def labels(project: Path) -> dict[str, str]:
    """The LABEL key=value pairs of the Dockerfile, as Docker reads them."""
    found = {}
    for keyword, arguments in instructions(project):
        if keyword == "LABEL":
            for key, word in LABEL_PAIR.findall(arguments):
                found[key] = unquote(word)
    return found


def test_hadolint_passes_without_ignores(rendered: Project) -> None:
    docker = with_docker(rendered)
    hadolint = dev_tool("hadolint")
    project = docker.path
    text = (project / "Dockerfile").read_text(encoding="utf-8")
    assert "hadolint" not in text
    assert not list(project.glob(".hadolint.y*ml"))
    run([hadolint, "--no-color", "--failure-threshold", "style", "Dockerfile"], project)


def test_compose_matches_the_compose_specification(rendered: Project) -> None:
    docker = with_docker(rendered)
    check = dev_tool("check-jsonschema")
    docker.run([check, "--builtin-schema", "vendor.compose-spec", "compose.yaml"])


def test_only_the_chosen_services_are_rendered(rendered: Project) -> None:
    docker = with_docker(rendered)
    services = docker.services
    project = docker.path
    data = compose(project)
    expected = {"app", "migrate"} | ({"postgres", "redis"} & set(services))
    if "celery" in services:
        expected |= CELERY
    assert set(data["services"]) == expected
    volumes = {"app-data"} | {f"{name}-data" for name in {"postgres", "redis"} & set(services)}
    assert set(data["volumes"]) == volumes
    environment = data["services"]["app"]["environment"]
    assert ("DATABASE_URL" in environment) == ("postgres" in services)
    assert ("REDIS_URL" in environment) == ("redis" in services)
    assert ("CELERY_BROKER_URL" in environment) == ("celery" in services)
    text = (project / "compose.yaml").read_text(encoding="utf-8")
    for absent in {"postgres", "redis", "celery"} - set(services):
        assert absent not in text.lower(), absent


def test_every_dependency_waits_for_health_or_success(rendered: Project) -> None:
    docker = with_docker(rendered)
    project = docker.path
    services = compose(project)["services"]
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert isinstance(spec, dict), (name, dependency)
            if dependency == "migrate":
                assert spec == {"condition": "service_completed_successfully"}, name
                continue
            assert spec == {"condition": "service_healthy"}, (name, dependency)
            check = services[dependency]["healthcheck"]
            assert not check.get("disable"), dependency
            assert check["test"][0] in {"CMD", "CMD-SHELL"}, dependency
    app = services["app"]
    assert app["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["restart"] == "no"


def test_ports_are_published_on_loopback_only(rendered: Project) -> None:
    docker = with_docker(rendered)
    project = docker.path
    for name, service in compose(project)["services"].items():
        for port in service.get("ports", []):
            assert isinstance(port, str), name
            assert port.startswith("127.0.0.1:"), (name, port)
    app = compose(project)["services"]["app"]
    assert app["ports"] == ["127.0.0.1:${PORT:-8000}:8000"]


def test_commands_are_exec_lists_that_run_outside_a_container(rendered: Project) -> None:
    docker = with_docker(rendered)
    project = docker.path
    services = compose(project)["services"]
    commands = {name: services[name]["command"] for name in IMAGE_SERVICES & set(services)}
    assert commands["app"] == ["python", "-m", "acme_billing", "serve"]
    assert commands["migrate"] == ["python", "-m", "acme_billing", "migrate"]
    for name, command in commands.items():
        assert isinstance(command, list), name
        assert all(isinstance(part, str) and "$" not in part for part in command), name
    if "worker" in commands:
        app = ["celery", "--app", "acme_billing.worker"]
        # No --loglevel: the worker logs as the app does, by LOG_LEVEL (worker.py).
        assert commands["worker"] == [*app, "worker"]
        beat = commands["beat"]
        assert beat[:4] == [*app, "beat"]
        assert beat[4] == "--schedule"
        assert not Path(beat[5]).is_absolute()  # var/… in the container's /app, or the cwd
        assert commands["flower"] == [*app, "flower", "--port=5555"]  # tornado's form


def test_environment_points_at_the_compose_services(rendered: Project) -> None:
    docker = with_docker(rendered)
    services = compose(docker.path)["services"]
    selected = docker.services
    for name in IMAGE_SERVICES & set(services):
        service = services[name]
        assert service["image"] == "${IMAGE:-acme-billing}:${TAG:-latest}", name
        assert service["env_file"] == [{"path": ".env", "required": False}], name
        environment = service["environment"]
        assert environment["HOST"] == "0.0.0.0", name  # noqa: S104 # in the container
        assert environment["PORT"] == "8000", name
        if "postgres" in selected:
            url = environment["DATABASE_URL"]
            assert url.startswith("postgresql://${POSTGRES_USER:-postgres}:"), name
            assert "${POSTGRES_PASSWORD:-postgres}@postgres:5432/" in url, name
        # Every Redis URL logs in with REDIS_PASSWORD; each role has a database of its own.
        roles = ["REDIS_URL"] if "redis" in selected else []
        roles += ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"] if "celery" in selected else []
        databases = []
        for role in roles:
            match = COMPOSE_REDIS_URL.fullmatch(environment[role])
            assert match, (name, role, environment[role])
            databases.append(match.group(1))
        assert len(set(databases)) == len(roles), (name, databases)
        assert service.get("build") == ("." if name == "app" else None), name
        if name != "app":
            assert service["pull_policy"] == "never", name
    if "flower" in services:
        auth = services["flower"]["environment"]["FLOWER_BASIC_AUTH"]
        assert auth.startswith("${FLOWER_BASIC_AUTH:?")
        check = " ".join(services["flower"]["healthcheck"]["test"])
        assert "http://127.0.0.1:5555/healthcheck" in check
        assert "celery@$$HOSTNAME" in " ".join(services["worker"]["healthcheck"]["test"])
    if "postgres" in services:
        postgres = services["postgres"]
        assert postgres["image"] == "postgres:17-alpine"
        assert "env_file" not in postgres  # only the POSTGRES_* values, not the app's secrets
        password = postgres["environment"]["POSTGRES_PASSWORD"]
        assert password == "${POSTGRES_PASSWORD:-postgres}"  # noqa: S105 # local development
        assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    if "redis" in services:
        redis = services["redis"]
        assert redis["image"] == "redis:8-alpine"
        assert "env_file" not in redis  # only its password, not the app's settings
        assert redis["environment"] == {
            "REDISCLI_AUTH": "${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}"
        }
        # The password is expanded by the container's shell ($$), never by compose into the
        # command line; the entrypoint still starts redis-server (as its own user).
        command = " ".join(redis["command"])
        assert "${" not in command
        assert 'requirepass "$$REDISCLI_AUTH"' in command
        assert "exec docker-entrypoint.sh redis-server -" in command
        # redis-cli reads REDISCLI_AUTH, and exits 0 even when refused: PONG is checked.
        assert redis["healthcheck"]["test"] == ["CMD-SHELL", '[ "$$(redis-cli ping)" = PONG ]']


def test_images_are_pinned_by_tag_and_dependabot_bumps_them(rendered: Project) -> None:
    docker = with_docker(rendered)
    project = docker.path
    stages: set[str] = set()
    images: set[str] = set()
    for keyword, arguments in instructions(project):
        if keyword == "FROM":
            image, *alias = arguments.split(" AS ")
            if image not in stages:
                images.add(image)
            stages |= set(alias)
    for name, service in compose(project)["services"].items():
        if name not in IMAGE_SERVICES:  # the others run the image built here
            images.add(service["image"])
    assert len(images) == 2 + len({"postgres", "redis"} & set(docker.services))
    for image in images:
        repository, _, tag = image.rpartition(":")
        assert repository, f"{image} is not pinned by a tag"
        assert "/" not in tag, image
        assert tag != "latest", image
        assert re.match(r"\d", tag), f"{image}: a version tag, which Dependabot can bump"
    if docker.on("use_dependabot"):
        dependabot = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())
        directories = {e["package-ecosystem"]: e["directory"] for e in dependabot["updates"]}
        # Both files are at the root, where each ecosystem looks.
        assert directories["docker"] == "/"
        assert directories["docker-compose"] == "/"
        assert DEPENDABOT_COMPOSE_FILE.fullmatch("compose.yaml")


def test_compose_file_renders_cleanly(rendered: Project) -> None:
    docker = with_docker(rendered)
    project = docker.path
    text = (project / "compose.yaml").read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    assert "\n\n\n" not in text
    assert not re.search(r"\{\{|\{%|%\}|\{#", text)
    assert not re.search(r":\n\n", text), "blank line after a key"
    assert all(line == line.rstrip() for line in text.splitlines())


def test_dockerfile_stages_keep_dependencies_in_their_own_layer(rendered: Project) -> None:
    docker = with_docker(rendered)
    python = docker.answers["python_version"]
    steps = instructions(docker.path)
    froms = [arguments for keyword, arguments in steps if keyword == "FROM"]
    uv_image = f"ghcr.io/astral-sh/uv:{load_extension().uv_version()}"
    # uv's image is a stage of its own: Dependabot bumps tags in FROM lines only.
    assert froms == [
        f"{uv_image} AS uv", f"python:{python}-slim AS deps", "deps AS builder",
        f"python:{python}-slim",
    ]  # fmt: skip
    assert ("COPY", "--from=uv /uv /uvx /bin/") in steps
    # Every --from (COPY, RUN --mount) names an earlier stage, never an image directly.
    stages: list[str] = []
    for keyword, arguments in steps:
        for source in re.findall(r"--(?:mount=\S*?)?from=([^\s,]+)", arguments):
            assert source in stages, f"{keyword} {arguments}: {source} is not an earlier stage"
        if keyword == "FROM":
            stages.append(arguments.rsplit(" AS ", 1)[-1])
    runs = [arguments for keyword, arguments in steps if keyword == "RUN"]
    # Dependencies from the lock file alone, before the source arrives: a cached layer.
    assert steps.index(("COPY", "pyproject.toml uv.lock ./")) < steps.index(("RUN", runs[0]))
    assert "uv sync --locked --no-default-groups --no-install-project --no-editable" in runs[0]
    assert "--mount=type=cache,target=/root/.cache/uv" in runs[0]
    assert steps.index(("COPY", "src ./src")) > steps.index(("RUN", runs[0]))
    assert runs[1].endswith("uv build --wheel --out-dir /dist")
    final = steps[[n for n, (keyword, _) in enumerate(steps) if keyword == "FROM"][-1] :]
    copies = [a for k, a in final if k == "COPY"]
    assert copies == ["--from=deps /app/.venv /app/.venv", "--from=builder /dist /tmp/dist"]
    # The project's own layer comes last, after everything that does not change with the code.
    install = next(a for k, a in final if k == "RUN" and "uv pip install" in a)
    assert "--no-deps" in install
    assert "--mount=type=bind,from=uv,source=/uv,target=/bin/uv" in install
    assert [k for k, _ in final][-3:] == ["RUN", "USER", "CMD"]
    assert "--uid 10001 --gid 10001" in " ".join(a for k, a in final if k == "RUN")
    assert ("USER", "10001:10001") in final
    assert ("WORKDIR", "/app") in final
    assert ("EXPOSE", "8000") in final
    assert final[-1] == ("CMD", '["python", "-m", "acme_billing", "serve"]')
    assert json.loads(final[-1][1]) == ["python", "-m", "acme_billing", "serve"]
    healthcheck = next(a for k, a in final if k == "HEALTHCHECK")
    assert healthcheck.endswith('CMD ["python", "-m", "acme_billing.healthcheck"]')


def test_no_setting_or_secret_is_baked_into_the_image(rendered: Project) -> None:
    docker = with_docker(rendered)
    project = docker.path
    steps = instructions(project)
    env_keys = set()
    for keyword, arguments in steps:
        if keyword == "ENV":
            env_keys |= set(re.findall(r"(?:^|\s)([A-Z_][A-Z0-9_]*)=", arguments))
    assert env_keys == IMAGE_ENV
    assert not env_keys & SETTINGS
    # The one setting the image fixes: where it runs.
    assert "ENVIRONMENT=production" in " ".join(a for k, a in steps if k == "ENV")
    assert [a for k, a in steps if k == "ARG"] == ["VERSION=unknown"]
    # What the build reads is exactly what .dockerignore lets into the context.
    sources = {"pyproject.toml", "uv.lock"}
    for keyword, arguments in steps:
        if keyword == "COPY" and not arguments.startswith("--from"):
            sources |= set(arguments.split()[:-1])
    ignore = (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line for line in ignore if line and not line.startswith("#")]
    assert patterns[0] == "*"
    admitted = {p[1:] for p in patterns if p.startswith("!")}
    assert {source.rstrip("/") for source in sources} == {a.rstrip("/") for a in admitted}
    assert {"**/.env", "**/.env.*", "**/__pycache__"} <= set(patterns)
    assert not any(".env" in source for source in sources)


@pytest.mark.parametrize(
    "description",
    [
        'Says "hello" to $HOME and ${USER}: back\\slash, \\" and \'quotes\', tail\\',
        "key: value # not a comment, [not, a, list], {{ not jinja }}, & *alias ~, naïve 🚀",
    ],
)
def test_labels_carry_any_description(description: str, render: Renderer) -> None:
    project = render(description=description, license="Proprietary").path
    run([dev_tool("hadolint"), "--no-color", "Dockerfile"], project)
    assert labels(project) == {
        "org.opencontainers.image.title": "Acme Billing",
        "org.opencontainers.image.description": description,
        "org.opencontainers.image.source": "https://github.com/acme/acme-billing",
        "org.opencontainers.image.licenses": "LicenseRef-Proprietary",
        "org.opencontainers.image.version": "${VERSION}",
    }


def test_only_docker_services_have_container_files(rendered: Project) -> None:
    for name in DOCKER_FILES:
        assert (rendered.path / name).exists() == rendered.on("use_docker"), name


def test_every_compose_variable_is_documented_in_env_example(rendered: Project) -> None:
    docker = with_docker(rendered)
    project = docker.path
    used = set(re.findall(r"\$\{([A-Z_]+)", (project / "compose.yaml").read_text()))
    example = (project / ".env.example").read_text().splitlines()
    documented = {line.split("=", 1)[0] for line in example if re.match(r"[A-Z_]+=", line)}
    # IMAGE and TAG come from make docker-compose-up (IMAGE ?=, TAG ?= in the Makefile).
    assert used - {"IMAGE", "TAG"} <= documented
