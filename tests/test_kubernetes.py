"""The Kubernetes manifests of a service (`use_kubernetes`, deploy/k8s), without a cluster.

For each `services` answer that changes them, both overlays are built with kubectl's Kustomize
as `make k8s-build` builds them (each .example env file as the real one, the image set by a
wrapper kustomization), every object is validated strictly against the schemas of Kubernetes
1.31 and 1.37, checkov scans them, and the built objects are compared with what they run: the
settings the app reads, its routes, the Dockerfile, compose.yaml's commands, health checks and
depends_on, and the Makefile's image name.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from compose import compose_commands, compose_services
from helpers import (
    ROOT,
    clean_env,
    commit_all,
    copy_template,
    dev_tool,
    git,
    load_extension,
    output,
    run,
)
from linters import checkov
from manifests import REGISTRY, TAG, build_overlay, image_name
from project import BASE_ANSWERS, Project, Renderer

context = load_extension()

# The `services` answers that change the manifests, each by a variant when one has it.
SERVICES: dict[str, list[str] | None] = {
    "services-postgres": None,  # [postgres]
    "postgres-redis": ["postgres", "redis"],
    "defaults": None,  # every service
}
OVERLAYS = ("staging", "production")
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
WORKLOADS = {"Deployment", "Job"}
KUSTOMIZE = "kustomize.config.k8s.io/v1beta1"
# The label that selects an in-cluster backing service's pods, by compose's name for it.
BACKING_LABELS = {"postgres": "postgresql", "redis": "redis"}
COMPONENTS = {"app", "worker", "beat", "flower", "migrate", "config"}
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
# A DNS label (RFC 1123): what Kubernetes requires of a namespace's, a Service's and a label
# value's name (a label value may be empty or hold dots and underscores too, never here).
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# What only a secret holds: a name for one, or a URL with credentials.
SECRET_KEY = re.compile(r"URL|AUTH|PASSWORD|SECRET|TOKEN|BACKEND|KEY")
CREDENTIALS = re.compile(r"://[^/@\s]*@")


@dataclass(frozen=True)
class Built:
    """A render's manifests, built per overlay: the files and their objects."""

    project: Project
    files: dict[str, Path]

    @property
    def name(self) -> str:
        """The base name of the objects (the slug, cut to leave room for suffixes)."""
        return str(context.k8s_name(self.project.answers["project_slug"]))

    def objects(self, overlay: str) -> list[dict[str, Any]]:
        """Every object of the overlay's build."""
        text = self.files[overlay].read_text(encoding="utf-8")
        return [document for document in yaml.safe_load_all(text) if document]

    def kind(self, overlay: str, kind: str) -> list[dict[str, Any]]:
        """The overlay's objects of one kind."""
        return [item for item in self.objects(overlay) if item["kind"] == kind]

    def one(self, overlay: str, kind: str) -> dict[str, Any]:
        """The overlay's one object of `kind` (ConfigMap, Secret)."""
        [item] = self.kind(overlay, kind)
        return item

    def workloads(self, overlay: str) -> dict[str, dict[str, Any]]:
        """The Deployments and the Job, by component."""
        return {
            item["metadata"]["labels"][COMPONENT]: item
            for item in self.objects(overlay)
            if item["kind"] in WORKLOADS
        }

    def containers(self, overlay: str) -> dict[str, dict[str, Any]]:
        """Each workload's one container, by component."""
        found = {}
        for component, workload in self.workloads(overlay).items():
            [container] = workload["spec"]["template"]["spec"]["containers"]
            found[component] = container
        return found


def built_from(project: Project, dest: Path, edit: Callable[[Path], None] | None = None) -> Built:
    """Both overlays of a render, built (`edit` changes each copy of deploy/k8s first)."""
    return Built(
        project, {overlay: build_overlay(project, overlay, dest, edit) for overlay in OVERLAYS}
    )


@pytest.fixture(scope="module", params=list(SERVICES))
def built(
    request: pytest.FixtureRequest, renderer: Renderer, tmp_path_factory: pytest.TempPathFactory
) -> Built:
    """Each `services` answer's render, both overlays built."""
    name = request.param
    services = SERVICES[name]
    project = renderer.variant(name) if services is None else renderer.render(services=services)
    assert project.on("use_kubernetes"), f"{name} renders no manifests"
    return built_from(project, tmp_path_factory.mktemp(f"k8s-{name}"))


def validate(path: Path) -> None:
    """Every object of a build validates, strictly (no unknown field), at each version."""
    for version in KUBERNETES_VERSIONS:
        command = [dev_tool("kubernetes-validate"), "--strict", "--kubernetes-version", version]
        result = run([*command, str(path)], path.parent, check=False)
        said = output(result)
        assert result.returncode == 0, f"Kubernetes {version}: {said}"
        assert "WARN" not in said, said  # an object without a schema is not validated


def test_every_object_validates_against_kubernetes(built: Built) -> None:
    for overlay, path in built.files.items():
        kinds = {item["kind"] for item in built.objects(overlay)}
        assert {"Namespace", "Deployment", "Job", "Service", "NetworkPolicy"} <= kinds
        validate(path)


def test_checkov_finds_nothing(built: Built) -> None:
    """No failed check; every rule skipped says why on its object."""
    checkov(list(built.files.values()))


def test_git_ignores_the_env_files_and_keeps_their_examples(built: Built) -> None:
    """config.env and secret.env hold the team's settings and secrets: never committed."""
    overlays = built.project.path / "deploy" / "k8s" / "overlays"
    names = ("config.env", "secret.env")
    env_files = [f"{folder.name}/{name}" for folder in sorted(overlays.iterdir()) for name in names]
    assert len(env_files) == 2 * len(OVERLAYS)
    paths = [f"deploy/k8s/overlays/{path}" for path in env_files]
    ignored = built.project.git(
        "check-ignore", *paths, *(f"{path}.example" for path in paths), check=False
    )
    assert ignored.splitlines() == paths


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions In/NotIn) selects `labels`."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        inside = labels.get(expression["key"]) in expression["values"]
        if inside != (expression["operator"] == "In"):
            return False
    return True


def settings_fields(project: Project) -> set[str]:
    """The environment variables the app's Settings read (settings.py's fields)."""
    source = (project.path / "src" / project.package / "settings.py").read_text(encoding="utf-8")
    [settings] = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef) and node.name == "Settings"
    ]
    return {
        node.target.id.upper()
        for node in settings.body
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id != "model_config"
    }


def compose_secrets(project: Project) -> set[str]:
    """What compose gives the processes of the image with a password in it, or a *_AUTH."""
    services = compose_services(project)
    assert services is not None
    return {
        key
        for name in compose_commands(project)
        for key, value in (services[name].get("environment") or {}).items()
        if key.endswith("_AUTH") or "PASSWORD" in str(value)
    }


def test_every_setting_has_a_source_and_no_secret_is_in_the_configmap(built: Built) -> None:
    """The ConfigMap and the Secret hold every variable Settings reads, and nothing else; the
    Secret exactly what compose gives with a password in it; the ConfigMap nothing that looks
    like a secret."""
    fields = settings_fields(built.project)
    secrets = compose_secrets(built.project)
    assert "DATABASE_URL" in secrets
    for overlay in OVERLAYS:
        config = built.one(overlay, "ConfigMap")["data"]
        secret = built.one(overlay, "Secret")["data"]
        assert set(config) | set(secret) == fields, overlay
        assert set(secret) == secrets, overlay
        for key, value in config.items():
            assert not SECRET_KEY.search(key), f"{overlay}: {key} is in the ConfigMap"
            assert not CREDENTIALS.search(value), f"{overlay}: {key} holds credentials"


# Seconds of failing /ready (a database or Redis that restarts) before a pod leaves the Service.
READINESS_TOLERANCE = 30


def dockerfile_port(project: Project) -> str:
    """The port the Dockerfile exposes, which its PORT sets too."""
    dockerfile = (project.path / "Dockerfile").read_text(encoding="utf-8")
    [exposed] = re.findall(r"^EXPOSE (\d+)$", dockerfile, re.MULTILINE)
    assert re.search(rf"^\s+PORT={exposed}\b", dockerfile, re.MULTILINE)
    return str(exposed)


def container_port(service: dict[str, Any]) -> int:
    """The container's side of a compose service's one published port (`HOST:...:PORT`)."""
    [published] = service["ports"]
    return int(str(published).rsplit(":", 1)[1])


def base_literals(project: Project) -> dict[str, str]:
    """The settings base/kustomization.yaml fixes in the ConfigMap, for every overlay."""
    path = project.path / "deploy" / "k8s" / "base" / "kustomization.yaml"
    [generator] = yaml.safe_load(path.read_text(encoding="utf-8"))["configMapGenerator"]
    return dict(literal.split("=", 1) for literal in generator["literals"])


def env_example_names(path: Path) -> set[str]:
    """The variables an .env.example file sets."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def test_the_configmap_fixes_where_the_app_listens(built: Built) -> None:
    """The base ConfigMap: HOST every interface and PORT the Dockerfile's, as compose gives
    them to the app on its container's port (and FLOWER_PORT Flower's), which no overlay's
    config.env changes."""
    services = compose_services(built.project)
    assert services is not None
    environment = services["app"]["environment"]
    literals = base_literals(built.project)
    every_interface = "0.0.0.0"  # noqa: S104 # in the pod, for the Service and the probes
    expected = {"HOST": every_interface, "PORT": dockerfile_port(built.project)}
    assert {key: str(environment[key]) for key in expected} == expected
    assert str(container_port(services["app"])) == expected["PORT"]
    if "flower" in services:
        expected["FLOWER_PORT"] = str(container_port(services["flower"]))
    assert literals == expected
    for overlay in OVERLAYS:
        example = built.project.path / "deploy" / "k8s" / "overlays" / overlay
        assert not env_example_names(example / "config.env.example") & set(literals)
        config = built.one(overlay, "ConfigMap")["data"]
        assert {key: config[key] for key in literals} == literals, overlay


def routes(project: Project) -> set[str]:
    """The paths of the app's probe routes (api/health.py)."""
    health = project.path / "src" / project.package / "api" / "health.py"
    return set(re.findall(r'@router\.get\("([^"]+)"', health.read_text(encoding="utf-8")))


def test_probes_are_the_apps_routes_on_the_images_port(built: Built) -> None:
    """Startup and liveness on /health, readiness on /ready (routes of the app), on the port
    the Dockerfile exposes and the ConfigMap gives as PORT; the Service routes to it. A
    dependency that fails /ready for less than READINESS_TOLERANCE seconds leaves the pod in
    the Service."""
    assert routes(built.project) == {"/health", "/ready"}
    exposed = dockerfile_port(built.project)
    for overlay in OVERLAYS:
        app = built.containers(overlay)["app"]
        assert app["ports"] == [{"name": "http", "containerPort": int(exposed)}]
        assert built.one(overlay, "ConfigMap")["data"]["PORT"] == exposed
        probes = {kind: app[f"{kind}Probe"]["httpGet"] for kind in ("startup", "liveness")}
        probes["readiness"] = app["readinessProbe"]["httpGet"]
        assert {kind: (get["path"], get["port"]) for kind, get in probes.items()} == {
            "startup": ("/health", "http"),
            "liveness": ("/health", "http"),
            "readiness": ("/ready", "http"),
        }
        readiness = app["readinessProbe"]
        assert readiness["periodSeconds"] * readiness["failureThreshold"] >= READINESS_TOLERANCE
        [service] = [
            s for s in built.kind(overlay, "Service") if s["metadata"]["name"].endswith("-app")
        ]
        assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]


def skipped_rules(workload: dict[str, Any]) -> set[str]:
    """The checkov rules a workload skips on purpose (checkov.io/skipN: RULE=why)."""
    annotations = workload["metadata"].get("annotations", {})
    return {
        value.split("=", 1)[0]
        for key, value in annotations.items()
        if key.startswith("checkov.io/skip")
    }


def test_the_celery_processes_are_probed_without_the_broker(built: Built) -> None:
    """The worker and beat have no probe: compose's health check of the worker pings it
    through the broker, so as a liveness probe a broker outage would restart every worker and
    kill the tasks it runs (checkov's rules for the probes are skipped, with why). Flower's
    probes are its /healthcheck on the port of compose's command, FLOWER_PORT and its
    Service."""
    services = compose_services(built.project)
    assert services is not None
    if "worker" not in services:
        assert not {"worker", "beat", "flower"} & set(built.workloads("production"))
        return
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])
    flower_test = services["flower"]["healthcheck"]["test"]
    [flower_url] = re.findall(r"'(http://[^']+)'", " ".join(flower_test))
    where = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/\S*)", flower_url)
    assert where is not None, flower_url
    port, path = where.groups()
    probes = {f"{kind}Probe" for kind in ("startup", "liveness", "readiness")}
    for overlay in OVERLAYS:
        containers = built.containers(overlay)
        workloads = built.workloads(overlay)
        for component in ("worker", "beat"):
            assert not probes & set(containers[component]), component
            assert {"CKV_K8S_8", "CKV_K8S_9"} <= skipped_rules(workloads[component]), component
        flower = containers["flower"]
        assert f"--port={port}" in flower["args"]
        assert flower["ports"] == [{"name": "flower", "containerPort": int(port)}]
        assert built.one(overlay, "ConfigMap")["data"]["FLOWER_PORT"] == port
        for kind in ("startup", "liveness", "readiness"):
            assert flower[f"{kind}Probe"]["httpGet"] == {"path": path, "port": "flower"}


def test_each_process_runs_composes_command_in_the_makefiles_image(built: Built) -> None:
    """A workload per compose service of the image, each container named for it and running
    its command (as args: the image's entrypoint, if any, stays), in [REGISTRY/]IMAGE:TAG."""
    commands = compose_commands(built.project)
    image = image_name(built.project)
    assert image == built.project.answers["project_slug"]
    base = built.project.path / "deploy" / "k8s" / "base"
    named = {
        container["image"]
        for path in base.glob("*.yaml")
        for item in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if item and item.get("kind") in WORKLOADS
        for container in item["spec"]["template"]["spec"]["containers"]
    }
    assert named == {image}
    for overlay in OVERLAYS:
        containers = built.containers(overlay)
        assert {name: c["args"] for name, c in containers.items()} == commands
        for name, container in containers.items():
            assert container["name"] == name
            assert "command" not in container
            assert container["image"] == f"{REGISTRY}/{image}:{TAG}"
            assert container["imagePullPolicy"] == "Always"


def test_beat_runs_once_and_never_twice(built: Built) -> None:
    """Beat: one replica, Recreate, in no HorizontalPodAutoscaler or PodDisruptionBudget; the
    app and the worker are autoscaled and drained one pod at a time."""
    for overlay in OVERLAYS:
        workloads = built.workloads(overlay)
        scaled = {
            h["spec"]["scaleTargetRef"]["name"]
            for h in built.kind(overlay, "HorizontalPodAutoscaler")
        }
        budgets = {
            component: budget["spec"]
            for budget in built.kind(overlay, "PodDisruptionBudget")
            for component in workloads
            if selects(
                budget["spec"]["selector"],
                workloads[component]["spec"]["template"]["metadata"]["labels"],
            )
        }
        expected = {"app", "worker"} & set(workloads)
        assert scaled == {f"{built.name}-{component}" for component in expected}
        assert set(budgets) == expected
        assert all(spec["maxUnavailable"] == 1 for spec in budgets.values())
        if "beat" in workloads:
            beat = workloads["beat"]["spec"]
            assert beat["replicas"] == 1
            assert beat["strategy"] == {"type": "Recreate"}


# Each overlay's autoscaling bounds (minReplicas, maxReplicas), by component.
BOUNDS = {
    "staging": {"app": (1, 2), "worker": (1, 2)},
    "production": {"app": (3, 10), "worker": (2, 10)},
}
# How an overlay's heading comment states them: "3 to 10 pods of the app and 2 to 10 workers".
STATED_BOUNDS = re.compile(r"(\d+) to (\d+) (pods of the app|workers)")


def stated_bounds(project: Project, overlay: str) -> dict[str, tuple[int, int]]:
    """The bounds the overlay's kustomization.yaml says in its heading comment, by component."""
    path = project.path / "deploy" / "k8s" / "overlays" / overlay / "kustomization.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    end = lines.index(f"apiVersion: {KUSTOMIZE}")
    heading = " ".join(line.lstrip("# ") for line in lines[:end])
    return {
        "app" if what == "pods of the app" else "worker": (int(low), int(high))
        for low, high, what in STATED_BOUNDS.findall(heading)
    }


def test_the_autoscalers_alone_set_the_pod_counts(built: Built) -> None:
    """Each overlay's autoscaling bounds are exactly BOUNDS and what its comment says, and the
    Deployments they scale name no replicas (which every `kubectl apply` would reset)."""
    for overlay in OVERLAYS:
        workloads = built.workloads(overlay)
        scalers = built.kind(overlay, "HorizontalPodAutoscaler")
        bounds = {
            h["metadata"]["labels"][COMPONENT]: (h["spec"]["minReplicas"], h["spec"]["maxReplicas"])
            for h in scalers
        }
        expected = {c: b for c, b in BOUNDS[overlay].items() if c in workloads}
        assert bounds == expected, overlay
        assert stated_bounds(built.project, overlay) == expected, overlay
        for scaler in scalers:
            target = scaler["spec"]["scaleTargetRef"]
            [deployment] = [
                w for w in workloads.values() if w["metadata"]["name"] == target["name"]
            ]
            assert target["kind"] == deployment["kind"] == "Deployment"
            assert "replicas" not in deployment["spec"], target["name"]


def test_production_alone_has_an_ingress_to_the_app(built: Built) -> None:
    """Only production has the Ingress, to the app's Service, with TLS for its host."""
    assert not built.kind("staging", "Ingress")
    [ingress] = built.kind("production", "Ingress")
    [rule] = ingress["spec"]["rules"]
    [path] = rule["http"]["paths"]
    assert path["backend"]["service"] == {"name": f"{built.name}-app", "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]


def test_network_policies_admit_what_compose_says(built: Built) -> None:
    """Every pod has a policy: the app takes connections on http only, the others (Flower
    too: kubectl port-forward needs no rule) none; an in-cluster PostgreSQL or Redis, on
    compose's port for it, only from the processes that compose lets depend on it."""
    services = compose_services(built.project)
    assert services is not None
    for overlay in OVERLAYS:
        policies = built.kind(overlay, "NetworkPolicy")
        for component, workload in built.workloads(overlay).items():
            labels = workload["spec"]["template"]["metadata"]["labels"]
            mine = [p["spec"] for p in policies if selects(p["spec"]["podSelector"], labels)]
            assert mine, f"no NetworkPolicy selects {component}"
            assert all(p["policyTypes"] == ["Ingress"] for p in mine)
            rules = [rule for policy in mine for rule in policy.get("ingress", [])]
            ports = ["http"] if component == "app" else []
            assert [port["port"] for rule in rules for port in rule["ports"]] == ports
            assert not any("from" in rule for rule in rules)  # from anywhere: the Ingress
        for backing, label in BACKING_LABELS.items():
            guarding = [
                p["spec"] for p in policies if selects(p["spec"]["podSelector"], {NAME: label})
            ]
            if backing not in built.project.services:
                assert not guarding, backing
                continue
            [policy] = guarding
            [rule] = policy["ingress"]
            assert rule["ports"] == [
                {"protocol": "TCP", "port": container_port(services[backing])}
            ], backing
            admitted = {
                component
                for component, workload in built.workloads(overlay).items()
                if any(
                    selects(peer["podSelector"], workload["spec"]["template"]["metadata"]["labels"])
                    for peer in rule["from"]
                )
            }
            dependents = {n for n, s in services.items() if backing in (s.get("depends_on") or {})}
            assert admitted == dependents, backing


def test_every_pod_runs_restricted_as_the_images_user(built: Built) -> None:
    """uid/gid 10001, non-root, RuntimeDefault seccomp, no token, no privilege escalation,
    read-only root with /app/var the one writable folder, all capabilities dropped, requests and
    limits; the namespace enforces Pod Security's `restricted` level."""
    for overlay in OVERLAYS:
        [namespace] = built.kind(overlay, "Namespace")
        for mode in ("enforce", "audit", "warn"):
            assert (
                namespace["metadata"]["labels"][f"pod-security.kubernetes.io/{mode}"]
                == "restricted"
            )
        [account] = built.kind(overlay, "ServiceAccount")
        assert account["automountServiceAccountToken"] is False
        for component, workload in built.workloads(overlay).items():
            pod = workload["spec"]["template"]["spec"]
            assert pod["securityContext"] == {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            }, component
            assert pod["automountServiceAccountToken"] is False
            assert pod["serviceAccountName"] == account["metadata"]["name"] == built.name
            assert pod["volumes"] == [{"name": "var", "emptyDir": {"sizeLimit": "64Mi"}}]
            [container] = pod["containers"]
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }, component
            assert container["volumeMounts"] == [{"name": "var", "mountPath": "/app/var"}]
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, component


def test_shutdown_leaves_time_for_the_work_in_flight(built: Built) -> None:
    """The app's grace period outlasts its preStop sleep with time to finish requests; the
    worker's leaves Celery's warm shutdown a minute or more; the Job ends and is cleaned up."""
    for overlay in OVERLAYS:
        workloads = built.workloads(overlay)
        app = workloads["app"]["spec"]["template"]["spec"]
        sleep = app["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert app["terminationGracePeriodSeconds"] >= sleep + 20
        if "worker" in workloads:
            assert (
                workloads["worker"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
                >= 60
            )
        job = workloads["migrate"]["spec"]
        assert job["template"]["spec"]["restartPolicy"] == "Never"
        assert {"backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"} <= set(job)


def test_every_object_is_labelled_and_named_for_the_project(built: Built) -> None:
    for overlay in OVERLAYS:
        for item in built.objects(overlay):
            labels = item["metadata"]["labels"]
            assert labels[NAME] == built.name, item["metadata"]["name"]
            assert labels[COMPONENT] in COMPONENTS, item["metadata"]["name"]
            assert item["metadata"]["name"].startswith(built.name)


# The kinds whose names Kubernetes holds to a DNS label: a namespace's and a Service's, and a
# Job's, which becomes the value of its pods' job-name label. Other names are subdomains.
LABEL_NAMED = {"Namespace", "Service", "Job"}
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def check_names(built: Built) -> None:
    """Every name is what Kubernetes accepts for its kind, and every label value a DNS label."""
    for overlay in OVERLAYS:
        for item in built.objects(overlay):
            name = item["metadata"]["name"]
            rule = DNS_LABEL if item["kind"] in LABEL_NAMED else DNS_SUBDOMAIN
            assert rule.fullmatch(name), f"{item['kind']} {name} ({len(name)})"
            for value in item["metadata"]["labels"].values():
                assert DNS_LABEL.fullmatch(value), value
            if "namespace" in item["metadata"]:
                assert DNS_LABEL.fullmatch(item["metadata"]["namespace"])


def test_names_are_dns_labels(built: Built) -> None:
    check_names(built)


def test_the_longest_slug_gives_valid_names(render: Renderer, tmp_path: Path) -> None:
    """A slug at its 75-character limit, a short word then a long one: the objects' names keep
    its first 55 characters, and both overlays still build, validate and carry names
    Kubernetes accepts."""
    slug = "a-" + "b" * 73
    assert len(slug) == context.ANSWER_LIMITS["project_slug"]
    project = render(project_slug=slug, package_name="acme")
    built = built_from(project, tmp_path)
    assert built.name == slug[:55]
    check_names(built)
    for path in built.files.values():
        validate(path)
    assert len(f"{built.name}-staging") == 63


# The lines to uncomment for the commented examples: a pull secret, an IngressClass.
EXAMPLES = {
    "base/service-account.yaml": ["# imagePullSecrets:", "#   - name: registry-credentials"],
    "overlays/production/ingress.yaml": ["  # ingressClassName: nginx"],
}


def uncomment_examples(k8s: Path) -> None:
    """Uncomment the lines of EXAMPLES in a copy of deploy/k8s, as a team would."""
    for name, lines in EXAMPLES.items():
        path = k8s / name
        text = path.read_text(encoding="utf-8")
        for line in lines:
            assert f"\n{line}\n" in text, f"{name}: no line {line!r}"
            text = text.replace(f"\n{line}\n", "\n" + line.replace("# ", "", 1) + "\n")
        path.write_text(text, encoding="utf-8")


def test_the_commented_examples_work_uncommented(renderer: Renderer, tmp_path: Path) -> None:
    """The pull secret of a private registry and the Ingress's class, commented out in the
    manifests: uncommented, both overlays build and validate and the objects carry them."""
    built = built_from(renderer.variant("defaults"), tmp_path, uncomment_examples)
    for overlay, path in built.files.items():
        validate(path)
        [account] = built.kind(overlay, "ServiceAccount")
        assert account["imagePullSecrets"] == [{"name": "registry-credentials"}]
    [ingress] = built.kind("production", "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"


def test_git_ignores_env_files_only_where_there_are_manifests(rendered: Project) -> None:
    """The rendered .gitignore names the overlays' env files in projects with manifests only."""
    lines = (rendered.path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ("deploy/k8s/overlays/*/*.env" in lines) is rendered.on("use_kubernetes")


# -d use_kubernetes=true where it cannot work: refused by the question, in one line.
REFUSED = [
    (["use_docker=false"],
     "The Kubernetes manifests run the project's image: answer use_docker=true too"),
    (["services=[redis]"],
     "The Kubernetes manifests need PostgreSQL (every pod shares one database"),
    (["project_type=library", "python_min_version=3.10"],
     "A library has no Kubernetes manifests: leave use_kubernetes out"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answers", "message"), REFUSED, ids=["no-docker", "no-postgres", "library"]
)
def test_use_kubernetes_where_it_cannot_work_is_refused(
    answers: list[str], message: str, tmp_path: Path
) -> None:
    dest = tmp_path / "project"
    data = [f"{key}={value}" for key, value in BASE_ANSWERS.items()] + answers
    data += ["use_kubernetes=true", "skip_setup=true"]
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref=HEAD"]
    command += [arg for answer in data for arg in ("-d", answer)]
    result = run([*command, str(ROOT), str(dest)], tmp_path, env=clean_env(), check=False)
    said = output(result)
    assert result.returncode != 0, said
    # copier's own line: the question, then the validator's message, whole, on that line.
    refusal = f"Validation error for question 'use_kubernetes': {message}"
    assert any(refusal in line for line in said.splitlines()), said
    assert not dest.exists()


# copier.yml's question in a release before it: none asked or recorded, the files left out.
HIDDEN = "\nuse_kubernetes:\n  type: bool\n  default: false\n  when: false\n"


@pytest.fixture
def older(tmp_path: Path) -> Path:
    """A template repository whose v1 has no use_kubernetes question, and v2 this one's."""
    repo = copy_template(tmp_path / "template")
    questions = repo / "copier.yml"
    text = questions.read_text(encoding="utf-8")
    start, end = text.index("\nuse_kubernetes:"), text.index("\nauto_sync:")
    questions.write_text(text[:start] + HIDDEN + text[end:], encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "v1")
    git(repo, "tag", "v1")
    questions.write_text(text, encoding="utf-8")
    commit_all(repo, "v2")
    git(repo, "tag", "v2")
    return repo


@pytest.mark.parametrize("opt_in", [False, True], ids=["defaults", "opt-in"])
def test_an_update_from_before_use_kubernetes_adds_manifests_only_when_asked(
    older: Path, tmp_path: Path, opt_in: bool
) -> None:
    """A project of a release without the question keeps no manifests on update (a question
    added later keeps what the project is); `-d use_kubernetes=true` adds them."""
    dest = tmp_path / "project"
    data = {**BASE_ANSWERS, "skip_setup": True}
    copier.run_copy(str(older), str(dest), data=data, defaults=True, unsafe=True,
                    vcs_ref="v1", quiet=True, skip_tasks=True)  # fmt: skip
    git(dest, "init", "-q", "-b", "main")
    commit_all(dest, "Initial project")
    project = Project(dest)
    assert "use_kubernetes" not in project.answers
    assert not (dest / "deploy").exists()
    asked = {"use_kubernetes": True} if opt_in else {}
    copier.run_update(str(dest), data=asked, defaults=True, unsafe=True, overwrite=True,
                      vcs_ref="v2", quiet=True, skip_tasks=True)  # fmt: skip
    assert project.answers["_commit"] == "v2"
    assert project.answers["use_kubernetes"] is opt_in
    assert (dest / "deploy" / "k8s" / "base" / "app.yaml").exists() is opt_in
