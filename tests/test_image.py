"""The service's image, really built (buildah, against local stand-ins of its base images) and
run: unprivileged, importable, healthy by its own HEALTHCHECK against its own CMD, and serving
its probes under the Kubernetes manifests' security context (read-only root, their uid)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import BIN, free_port, load_extension
from images import (
    build,
    cached_steps,
    inspect_image,
    read_only_container,
    remove_image,
    require_buildah,
    run_in,
    running_in,
    stand_in_python_image,
    stand_in_uv_image,
)
from manifests import build_overlay
from project import Project, Renderer
from servers import http, postgres_server, redis_server

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


# Run in the container as the pod's user: every directory it could write to, and what a write to
# /tmp (world-writable in the image, so only a read-only root stops it) gives.
WRITES = """\
import errno, json, os
writable = []
for top, dirs, _ in os.walk("/"):
    if top in ("/proc", "/dev", "/sys"):
        dirs.clear()
    elif os.access(top, os.W_OK):
        writable.append(top)
try:
    open("/tmp/probe", "w").close()
    tmp = "written"
except OSError as error:
    tmp = errno.errorcode[error.errno]
print(json.dumps({"writable": sorted(writable), "tmp": tmp}))
"""


@pytest.fixture(scope="module")
def production(project: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The production overlay's objects, as `make k8s-build` builds them with the committed
    example env files in place of the real ones."""
    built = build_overlay(Project(project), "production", tmp_path_factory.mktemp("k8s"))
    return [document for document in yaml.safe_load_all(built.read_text()) if document]


def the_one(objects: list[dict[str, Any]], kind: str, **labels: str) -> dict[str, Any]:
    """The one object of `kind` whose labels include `labels`."""
    found = [
        item
        for item in objects
        if item["kind"] == kind and labels.items() <= item["metadata"].get("labels", {}).items()
    ]
    assert len(found) == 1, f"{len(found)} {kind} objects with labels {labels}"
    return found[0]


def environment(container: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, str]:
    """The variables the container gets from its ConfigMaps and Secrets, and its `env`."""

    def data(kind: str, name: str) -> dict[str, str]:
        item = next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)
        values: dict[str, str] = dict(item.get("data", {}))
        if kind == "Secret":
            values = {key: base64.b64decode(value).decode() for key, value in values.items()}
            values |= item.get("stringData", {})
        return values

    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= data("ConfigMap", source["configMapRef"]["name"])
        else:
            env |= data("Secret", source["secretRef"]["name"])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
            continue
        ((kind, reference),) = variable["valueFrom"].items()
        assert kind in {"configMapKeyRef", "secretKeyRef"}, f"no value here for a {kind}"
        found = data("ConfigMap" if kind == "configMapKeyRef" else "Secret", reference["name"])
        env[variable["name"]] = found[reference["key"]]
    return env


def test_the_app_serves_its_probes_under_the_manifests_security_context(
    image: dict[str, Any], production: list[dict[str, Any]], tmp_path: Path
) -> None:
    app = the_one(production, "Deployment", **{"app.kubernetes.io/component": "app"})
    pod = app["spec"]["template"]["spec"]
    (container,) = (c for c in pod["containers"] if c["name"] == "app")
    # What the sandbox (images.read_only_container) does, the manifest asks for.
    context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    user, group = context["runAsUser"], context["runAsGroup"]
    assert f"{user}:{group}" == image["User"]
    groups = [context["fsGroup"], *context.get("supplementalGroups", [])]
    # Where the pod may write: its emptyDir mounts (the sandbox makes no other kind of volume).
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    mounts = container.get("volumeMounts", [])
    assert all("emptyDir" in volumes[mount["name"]] for mount in mounts)
    writable = sorted(mount["mountPath"] for mount in mounts)
    kinds = ("startupProbe", "livenessProbe", "readinessProbe")
    probes = {kind: container[kind]["httpGet"] for kind in kinds if kind in container}
    assert {"livenessProbe", "readinessProbe"} <= probes.keys()
    # As Kubernetes: the image's entrypoint unless `command`, its CMD unless either is set.
    command = [*container.get("command", image["Entrypoint"] or []), *container.get("args", [])]
    if "command" not in container and "args" not in container:
        command += image["Cmd"]
    env = environment(container, production)
    (http_port,) = (p["containerPort"] for p in container["ports"] if p["name"] == "http")
    assert {probe["port"] for probe in probes.values()} == {"http"}
    assert env["PORT"] == str(http_port)

    port = free_port()
    with (
        postgres_server(tmp_path / "pg") as postgres,
        redis_server(tmp_path / "redis") as redis,
        read_only_container(
            TAG, user=user, group=group, groups=groups, writable=writable
        ) as sandbox,
    ):
        # The Secret's example URLs name the cluster's servers: here, live throwaway ones. The
        # container shares the host's network: a free loopback port instead of the pod's own.
        live = {
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis,
            "CELERY_BROKER_URL": redis.removesuffix("/0") + "/1",
            "CELERY_RESULT_BACKEND": redis.removesuffix("/0") + "/2",
        }
        env |= {key: value for key, value in live.items() if key in env}
        env |= {"HOST": "127.0.0.1", "PORT": str(port)}
        with sandbox.running(command, port=port, env=env) as server:
            # The server process itself: the pod's ids, no capability, no way to gain one.
            status = Path(f"/proc/{server.pid}/status").read_text(encoding="utf-8")
            fields = dict(line.split(":\t", 1) for line in status.splitlines())
            assert fields["Uid"].split() == [str(user)] * 4
            assert fields["Gid"].split() == [str(group)] * 4
            assert sorted(int(gid) for gid in fields["Groups"].split()) == sorted(groups)
            assert (fields["CapEff"], fields["NoNewPrivs"]) == ("0" * 16, "1")
            answers = {
                kind: http(f"http://127.0.0.1:{port}{p['path']}") for kind, p in probes.items()
            }
            assert {kind: code for kind, (code, _) in answers.items()} == dict.fromkeys(probes, 200)
            checks = answers["readinessProbe"][1]["checks"]
            assert "database" in checks
            assert set(checks.values()) == {"ok"}, checks
        writes = json.loads(sandbox.run(["python", "-c", WRITES], env=env).stdout)
    under = tuple(f"{path}/" for path in writable)
    outside = [
        path for path in writes["writable"] if path not in writable and not path.startswith(under)
    ]
    assert outside == []
    assert set(writable) <= set(writes["writable"])
    assert writes["tmp"] == "EROFS"
