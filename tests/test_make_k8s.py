"""The rendered Makefile's `k8s-*` targets in a set-up service with `use_kubernetes`: the
manifests built and validated for real (kubectl's Kustomize, kubernetes-validate), every refusal
one line, `k8s-diff` and `k8s-apply` without kubectl or a cluster, and against a stand-in
kubectl that records every call and hands it to the real kubectl against a closed port, so that
a flag kubectl does not know fails the test (no cluster can run here)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import alive, clean_env, free_port, run
from project import Project

pytestmark = pytest.mark.slow

REGISTRY = "registry.example.com/team"
RELEASE = (f"REGISTRY={REGISTRY}", "TAG=1.2.0")
ENV_FILES = ("config.env", "secret.env")
# What the tests write where the examples say CHANGE-ME, as a team fills them in.
FILLED = "s3cret-of-the-team"
MAKE_ERROR = re.compile(r"^make(\[\d+\])?: \*\*\* ")
JOB_STATE = 'jsonpath={.status.conditions[?(@.status=="True")].type}'
# After this many looks at the Job, the stand-in fails: a wait without its timeout never ends.
MAX_POLLS = 12
# The stand-in kubectl. `kustomize` runs the real one. Every other call is recorded in
# KUBECTL_LOG, then run by the real kubectl against a closed port: kubectl checks its flags and
# their values before it connects, so anything but a refused connection is a call it refuses.
# Then it answers as a cluster would: FAKE_PENDING looks at the Job answer "not complete" before
# it completes (FAKE_JOB: its conditions then); FAKE_NO_NAMESPACE: no namespace exists;
# FAKE_DIFF: kubectl diff's exit status; FAKE_ROLLOUT: `fail` or `hang`; FAKE_KUSTOMIZE=hang.
STAND_IN_KUBECTL = """#!{python}
import json, os, re, signal, subprocess, sys, time
import yaml

signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
REAL = {real!r}
args = sys.argv[1:]
env = os.environ
if args[:1] == ["kustomize"]:
    if env.get("FAKE_KUSTOMIZE") == "hang":
        with open(env["KUBECTL_LOG"], "a") as log:
            log.write(json.dumps({{"args": args}}) + "\\n")
        time.sleep(600)
    os.execv(REAL, [REAL, *args])
stdin = sys.stdin.read() if "-" in args else ""
call = {{"args": args}}
if stdin:
    docs = [doc for doc in yaml.safe_load_all(stdin) if doc]
    call["objects"] = [[doc["kind"], doc["metadata"]["name"]] for doc in docs]
real = subprocess.run(
    [REAL, *args], input=stdin, capture_output=True, text=True,
    env={{**env, "KUBECONFIG": {closed!r}, "HOME": {home!r}}},
)
said = real.stdout + real.stderr
if not re.search(r"connection refused|The connection to the server \\S+ was refused", said):
    call["refused"] = said
with open(env["KUBECTL_LOG"], "a") as log:
    log.write(json.dumps(call) + "\\n")
if "refused" in call:
    sys.exit("the real kubectl refuses this call: " + call["refused"])
with open(env["KUBECTL_LOG"]) as log:
    calls = [json.loads(line)["args"] for line in log]
command = args[0]
if command == "version":
    print("Client Version: v1.37.1")
    print("Server Version: v1.33.0")
elif args[:2] == ["get", "namespace"]:
    if not env.get("FAKE_NO_NAMESPACE"):
        print("namespace/" + args[2])
elif command == "get":
    looks = sum(1 for c in calls if c[0] == "get" and c[1].startswith("job/"))
    if looks > {max_polls}:
        sys.exit("the stand-in: the Job was looked at {max_polls} times")
    done = looks > int(env.get("FAKE_PENDING", "0"))
    print(env.get("FAKE_JOB", "SuccessCriteriaMet Complete") if done else "", end="")
elif command == "logs":
    print("INFO  [alembic] Running upgrade  -> 0001")
    print("psycopg.errors.DuplicateTable: relation notes already exists")
elif command == "apply":
    for kind, name in call["objects"]:
        print(kind.lower() + "/" + name + " configured")
elif command == "rollout":
    if env.get("FAKE_ROLLOUT") == "hang":
        print("Waiting for " + args[2] + " rollout to finish", flush=True)
        time.sleep(600)
    if env.get("FAKE_ROLLOUT") == "fail":
        sys.exit("error: " + args[2] + " exceeded its progress deadline")
    print(args[2] + " successfully rolled out")
elif command == "diff":
    sys.exit(int(env.get("FAKE_DIFF", "1")))
"""


@pytest.fixture(scope="session")
def with_kubernetes(rendered: Project) -> None:
    """Skip a variant without manifests before `green` sets it up."""
    rendered.skip_unless("use_kubernetes")


@pytest.fixture
def project(with_kubernetes: None, green: Project) -> Iterator[Project]:
    """The set-up variant; each test leaves its files and git status as it found them."""
    before = green.git("status", "--porcelain", "--ignored")
    yield green
    for path in overlays(green):
        for name in ENV_FILES:
            (path / name).unlink(missing_ok=True)
    assert green.git("status", "--porcelain", "--ignored") == before


def overlays(project: Project) -> list[Path]:
    """The overlay folders of deploy/k8s."""
    return sorted(path for path in (project.path / "deploy" / "k8s" / "overlays").iterdir())


def fill_env_files(project: Project, *, filled: bool = True) -> None:
    """Create each overlay's env files from its examples and fill them in, as the README says;
    without `filled`, leave them as the examples are."""
    for path in overlays(project):
        for name in ENV_FILES:
            text = (path / f"{name}.example").read_text()
            (path / name).write_text(text.replace("CHANGE-ME", FILLED) if filled else text)


def own_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What a failed target printed, without make's own `*** ... Error N` line."""
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if not MAKE_ERROR.match(line)]


def refused(project: Project, target: str, *args: str, **env: str) -> str:
    """The one line `make target args` fails with."""
    result = project.make(target, *args, check=False, env=env)
    assert result.returncode != 0, (target, args)
    lines = own_lines(result)
    assert len(lines) == 1, (target, args, lines)
    assert lines[0].startswith(f"{target}: "), lines
    return lines[0]


def documents(text: str) -> list[dict[str, Any]]:
    """The objects of a YAML stream."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def ref(obj: dict[str, Any]) -> str:
    """kind/name, as kubectl names an object."""
    return f"{obj['kind'].lower()}/{obj['metadata']['name']}"


def images(objects: list[dict[str, Any]]) -> set[str]:
    """The image of every container (init containers too) of every pod template."""
    found = set()
    for obj in objects:
        spec = obj.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            found.add(container["image"])
    return found


def pushed_image(project: Project, *args: str) -> str:
    """The name `make docker-push` pushes (its recipe, as `make -n` prints it)."""
    dry = project.make("-n", "docker-push", *args).stdout
    match = re.search(r"^docker push (\S+)$", dry, re.MULTILINE)
    assert match, dry
    return match.group(1)


def test_validate_passes_and_fails_in_one_line_on_a_broken_manifest(project: Project) -> None:
    # No env file is filled in: validate builds from the committed examples.
    said = project.make("k8s-validate").stdout.splitlines()
    assert len(said) == 1, said
    assert re.fullmatch(
        r"k8s-validate: production \(\d+ objects\), staging \(\d+ objects\): "
        r"valid against Kubernetes 1\.31\.0 and 1\.37\.0 \(strict\)",
        said[0],
    )
    app = project.path / "deploy" / "k8s" / "base" / "app.yaml"
    original = app.read_text()
    try:
        # An unknown field: Kustomize keeps it, the strict schemas refuse it.
        app.write_text(original.replace("metadata:\n", "metadata:\n  colour: blue\n", 1))
        line = refused(project, "k8s-validate")
        assert "did not validate for resource deployment/" in line
        assert "'colour' was unexpected" in line
        assert line.endswith("fix deploy/k8s, then run make k8s-validate again")
        # A file that is not YAML: Kustomize cannot build it.
        app.write_text(original + "  - [\n")
        line = refused(project, "k8s-validate")
        assert "kubectl kustomize cannot build the production overlay" in line
        assert "app.yaml" in line
        # A misspelt kind has no schema: it fails, it is not skipped.
        app.write_text(original.replace("kind: Deployment", "kind: Deploymnet", 1))
        assert "Deploymnet" in refused(project, "k8s-validate")
    finally:
        app.write_text(original)
    project.make("k8s-validate")


def test_build_runs_the_image_docker_push_pushed(project: Project) -> None:
    status = project.git("status", "--porcelain", "--untracked-files=all")
    fill_env_files(project)
    # git ignores the filled env files.
    assert project.git("status", "--porcelain", "--untracked-files=all") == status
    production = project.make("k8s-build", "OVERLAY=production", *RELEASE)
    assert production.stderr == ""
    objects = documents(production.stdout)
    assert images(objects) == {pushed_image(project, *RELEASE)}
    assert images(objects) == {f"{REGISTRY}/{project.answers['project_slug']}:1.2.0"}
    # The defaults: staging, and the name `make docker-build` tags.
    staging = documents(project.make("k8s-build").stdout)
    build = project.make("-n", "docker-build").stdout
    tag = re.search(r"--tag (\S+) \.$", build, re.MULTILINE)
    assert tag, build
    assert images(staging) == {tag.group(1)}
    namespaces = {obj["metadata"].get("namespace") for obj in staging if obj["kind"] != "Namespace"}
    assert namespaces == {f"{project.answers['project_slug']}-staging"}
    # The same objects as production's but the Ingress, which only production has.
    kinds = sorted(obj["kind"] for obj in objects if obj["kind"] != "Ingress")
    assert kinds == sorted(obj["kind"] for obj in staging)
    # A trailing / on REGISTRY is dropped, as docker-push drops it.
    again = project.make("k8s-build", "OVERLAY=production", f"REGISTRY={REGISTRY}/", "TAG=1.2.0")
    assert images(documents(again.stdout)) == images(objects)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("OVERLAY=nope",),
            "no overlay 'nope' in deploy/k8s/overlays: set OVERLAY to one of production, staging",
        ),
        (("OVERLAY=../base",), "no overlay '../base'"),
        (("OVERLAY=",), "no overlay ''"),
        (("TAG=1.0 x",), "TAG '1.0 x' is not an image tag"),
        (("TAG=1.0;touch pwned",), "TAG '1.0;touch pwned' is not an image tag"),
        (("TAG=it's",), 'TAG "it\'s" is not an image tag'),
        (("REGISTRY=`touch pwned`",), "'`touch pwned`/acme-billing' is not an image name"),
        (("IMAGE=Acme",), "'Acme' is not an image name"),
        # make syntax: from the environment, the script gets it as typed (make's command line
        # is make's own language, expanded as any value there is).
        (("TAG=$(shell touch pwned)",), "TAG '$(shell touch pwned)' is not an image tag"),
        (("TAG=$(touch pwned)",), "TAG '$(touch pwned)' is not an image tag"),
        (("IMAGE=$(shell touch pwned)",), "'$(shell touch pwned)' is not an image name"),
        (("REGISTRY=$(shell touch pwned)",), "'$(shell touch pwned)/acme-billing' is not"),
        (("OVERLAY=$(shell touch pwned)",), "no overlay '$(shell touch pwned)'"),
        (("KUBECTL=$(shell touch pwned)",), "kubectl not found ($(shell touch pwned))"),
        (("K8S_TIMEOUT=$(shell touch pwned)",), "K8S_TIMEOUT '$(shell touch pwned)' is not"),
        (("K8S_TIMEOUT=soon",), "K8S_TIMEOUT 'soon' is not a whole number of seconds"),
        (("K8S_TIMEOUT=0",), "K8S_TIMEOUT '0' is not a whole number of seconds from 1 to 86400"),
        (("K8S_TIMEOUT=1.5",), "K8S_TIMEOUT '1.5' is not"),
        (("K8S_TIMEOUT=1e6",), "K8S_TIMEOUT '1e6' is not"),
        (("K8S_TIMEOUT=-1",), "K8S_TIMEOUT '-1' is not"),
        (("K8S_TIMEOUT=86401",), "K8S_TIMEOUT '86401' is not"),
    ],
)
def test_build_refuses_what_it_cannot_build_in_one_line(
    project: Project, args: tuple[str, ...], expected: str
) -> None:
    fill_env_files(project)
    expected = expected.replace("acme-billing", project.answers["project_slug"])
    name, value = args[0].split("=", 1)
    if "$(" not in value:
        assert expected in refused(project, "k8s-build", *args)
        assert not (project.path / "pwned").exists()
    # The same values from the environment, where make would expand them in $(NAME).
    assert expected in refused(project, "k8s-build", **{name: value})
    assert not (project.path / "pwned").exists()


def test_missing_env_files_are_named_with_how_to_create_them(project: Project) -> None:
    staging = "deploy/k8s/overlays/staging"
    for target, args in (("k8s-build", ()), ("k8s-apply", RELEASE), ("k8s-diff", RELEASE)):
        line = refused(project, target, *args)
        assert line == (
            f"{target}: {staging}/config.env is missing: copy config.env.example to it and fill "
            f"in its values (cp {staging}/config.env.example {staging}/config.env); git ignores it"
        )
    shutil.copyfile(
        project.path / staging / "config.env.example", project.path / staging / "config.env"
    )
    assert f"{staging}/secret.env is missing" in refused(project, "k8s-build")


def test_an_overlay_without_env_files_builds(project: Project) -> None:
    """An overlay whose Secret comes from elsewhere (External Secrets) has no secret.env."""
    staging = project.path / "deploy" / "k8s" / "overlays" / "staging"
    external = staging.parent / "external"
    fill_env_files(project)
    shutil.copytree(staging, external)
    try:
        (external / "secret.env").unlink()
        (external / "secret.env.example").unlink()
        kustomization = yaml.safe_load((external / "kustomization.yaml").read_text())
        del kustomization["secretGenerator"]
        (external / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        built = project.make("k8s-build", "OVERLAY=external").stdout
        kinds = {obj["kind"] for obj in documents(built)}
        assert "ConfigMap" in kinds
        assert "Secret" not in kinds
        said = project.make("k8s-validate").stdout
        assert re.match(r"k8s-validate: external \(\d+ objects\), production", said), said
        # Its config.env is still needed: its example is there.
        (external / "config.env").unlink()
        assert "overlays/external/config.env is missing" in refused(
            project, "k8s-build", "OVERLAY=external"
        )
    finally:
        shutil.rmtree(external)


# Lines Kustomize would take with a surprise in the value, or turn into a key no setting reads.
BAD_LINES = [
    (b"LOG_LEVEL", "no = on this line: write NAME=value, one a line"),
    (b"LOG LEVEL=INFO", "'LOG LEVEL' is not a variable name: write NAME=value"),
    (b"export LOG_LEVEL=INFO", "'export LOG_LEVEL' is not a variable name"),
    (b"LOG_LEVEL =INFO", "'LOG_LEVEL ' is not a variable name"),
    (b'LOG_LEVEL="INFO"', "the value of LOG_LEVEL is in quotes, which would be part of it"),
    (b"LOG_LEVEL='INFO'", "the value of LOG_LEVEL is in quotes"),
    (b"LOG_LEVEL=INFO ", "the value of LOG_LEVEL starts or ends with a space"),
    (b"LOG_LEVEL= INFO", "the value of LOG_LEVEL starts or ends with a space"),
    (b"LOG_LEVEL=\xff", "is not UTF-8 text: save it as UTF-8"),
]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES)
def test_env_file_lines_that_are_not_name_value_are_refused(
    project: Project, line: bytes, problem: str
) -> None:
    fill_env_files(project)
    config = project.path / "deploy" / "k8s" / "overlays" / "staging" / "config.env"
    text = config.read_bytes()
    config.write_bytes(text + line + b"\n")
    path = "deploy/k8s/overlays/staging/config.env"
    # A file that is not text has no line to name.
    number = text.count(b"\n") + 1
    where = f"{path} " if b"\xff" in line else f"{path}:{number}: "
    for target, args in (
        ("k8s-build", ()),
        ("k8s-validate", ()),
        ("k8s-diff", RELEASE),
        ("k8s-apply", RELEASE),
    ):
        assert refused(project, target, *args).startswith(f"{target}: {where}{problem}")
    # Comments, blank lines and spaces before a name are what Kustomize skips.
    config.write_bytes(text.replace(b"LOG_LEVEL=INFO", b"  # a comment\n\n   LOG_LEVEL=DEBUG"))
    built = documents(project.make("k8s-build").stdout)
    [configmap] = [obj for obj in built if obj["kind"] == "ConfigMap"]
    assert configmap["data"]["LOG_LEVEL"] == "DEBUG"
    # A byte-order mark and Windows line ends, which Kustomize drops too.
    crlf = b"\xef\xbb\xbf" + text.replace(b"LOG_LEVEL=INFO", b"LOG_LEVEL=WARNING").replace(
        b"\n", b"\r\n"
    )
    config.write_bytes(crlf)
    project.make("k8s-validate")
    built = documents(project.make("k8s-build").stdout)
    [configmap] = [obj for obj in built if obj["kind"] == "ConfigMap"]
    assert configmap["data"]["LOG_LEVEL"] == "WARNING"


def test_a_deploy_refuses_what_the_examples_hold(project: Project, tmp_path: Path) -> None:
    """CHANGE-ME and the example host build and validate, but are never deployed."""
    closed = {"KUBECONFIG": str(kubeconfig(tmp_path / "kubeconfig", {"token": "t"}))}
    fill_env_files(project, filled=False)
    project.make("k8s-build", *RELEASE)
    project.make("k8s-validate")
    secrets = "deploy/k8s/overlays/staging/secret.env"
    lines = (project.path / secrets).read_text().splitlines()
    number = next(i for i, line in enumerate(lines, start=1) if "CHANGE-ME" in line)
    name = lines[number - 1].split("=")[0]
    for target in ("k8s-diff", "k8s-apply"):
        assert refused(project, target, *RELEASE) == (
            f"{target}: {secrets}:{number}: {name} still holds CHANGE-ME: set its real value"
        )
    fill_env_files(project)
    ingress = project.path / "deploy" / "k8s" / "overlays" / "production" / "ingress.yaml"
    original = ingress.read_text()
    host = f"{project.answers['project_slug']}.example.com"
    number = next(i for i, line in enumerate(original.splitlines(), start=1) if host in line)
    for target in ("k8s-diff", "k8s-apply"):
        assert refused(project, target, "OVERLAY=production", *RELEASE, **closed) == (
            f"{target}: deploy/k8s/overlays/production/ingress.yaml:{number}: the Ingress host "
            f"{host} is the example: set your domain (rules and tls)"
        )
    try:
        ingress.write_text(original.replace(host, "billing.acme.test"))
        # Past the checks of the files: the next one asks the cluster.
        line = refused(project, "k8s-diff", "OVERLAY=production", *RELEASE, **closed)
        assert line.startswith("k8s-diff: no cluster answers")
    finally:
        ingress.write_text(original)


@pytest.mark.parametrize("target", ["k8s-apply", "k8s-diff"])
def test_a_deploy_names_the_pushed_release(project: Project, target: str) -> None:
    fill_env_files(project)
    push = "(make docker-push REGISTRY=registry.example.com/team TAG=1.2.0)"
    assert refused(project, target, "TAG=1.2.0") == (
        f"{target}: set REGISTRY and TAG to the image you pushed {push}"
    )
    assert refused(project, target, f"REGISTRY={REGISTRY}") == (
        f"{target}: TAG=latest names no release: set TAG to the version you pushed {push}"
    )


def kubeconfig(path: Path, user: dict[str, Any]) -> Path:
    """A kubeconfig whose one cluster is a closed port on 127.0.0.1, with this user."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{free_port()}"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
        "users": [{"name": "u", "user": user}],
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("target", ["k8s-apply", "k8s-diff"])
def test_without_kubectl_or_a_cluster_one_line_at_once(
    project: Project, target: str, tmp_path: Path
) -> None:
    fill_env_files(project)
    started = time.monotonic()
    line = refused(project, target, *RELEASE, "KUBECTL=/nonexistent")
    assert line.startswith(f"{target}: kubectl not found (/nonexistent): run make setup")
    # kubectl looked up on a PATH that lacks it (this machine has one in /usr/bin).
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "env"):
        (tools / name).symlink_to(str(shutil.which(name)))
    result = run(
        [str(shutil.which("make")), target, *RELEASE, "KUBECTL=kubectl"],
        project.path,
        env={"PATH": str(tools), "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode != 0
    [line] = own_lines(result)
    assert line.startswith(f"{target}: kubectl not found (kubectl): ")
    assert "https://kubernetes.io/docs/tasks/tools/" in line
    # A cluster that does not answer.
    config = kubeconfig(tmp_path / "kubeconfig", {"token": "t"})
    line = refused(project, target, *RELEASE, KUBECONFIG=str(config), HOME=str(tmp_path))
    assert line.startswith(f"{target}: no cluster answers (The connection to the server 127.0.0.1")
    assert line.endswith("check kubectl config current-context, or set KUBECONFIG")
    assert time.monotonic() - started < 30


# scripts/k8s.py with a shorter bound on the cluster check than its 30 seconds.
SHORT_CLUSTER_CHECK = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("k8s", "scripts/k8s.py")
k8s = importlib.util.module_from_spec(spec)
sys.modules["k8s"] = k8s
spec.loader.exec_module(k8s)
k8s.CLUSTER_TIMEOUT = 3
sys.exit(k8s.main(sys.argv[1:]))
"""
# A credential plugin waiting for a login nobody sees, as kubelogin's device code does.
LOGIN_PLUGIN = """#!/bin/bash
echo "$$" > {pids}
sleep 600 &
echo "$!" >> {pids}
echo "To sign in, open https://microsoft.com/devicelogin and enter the code ABCD1234" >&2
wait
"""


def test_a_login_prompt_stops_the_cluster_check_in_one_line(
    project: Project, tmp_path: Path
) -> None:
    fill_env_files(project)
    pids = tmp_path / "pids"
    plugin = tmp_path / "login"
    plugin.write_text(LOGIN_PLUGIN.format(pids=pids))
    plugin.chmod(0o755)
    exec_user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(plugin),
            "interactiveMode": "IfAvailable",
        }
    }
    config = kubeconfig(tmp_path / "kubeconfig", exec_user)
    slug = project.answers["project_slug"]
    started = time.monotonic()
    # -B: no __pycache__ left in the project.
    script = [project.tool("python"), "-B", "-c", SHORT_CLUSTER_CHECK]
    options = ["--image", slug, "--base-image", slug, "--kubectl", project.tool("kubectl")]
    release = ["--registry", REGISTRY, "--tag", "1.2.0"]
    try:
        result = subprocess.run(
            [*script, *options, *release, "diff", "staging"],
            cwd=project.path,
            env=clean_env(KUBECONFIG=str(config), HOME=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert time.monotonic() - started < 20
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            "k8s-diff: kubectl got no answer from the cluster within 3 s (a login waiting, such "
            "as kubelogin's device code?): run kubectl get namespaces once to log in, then try "
            "again"
        ]
        # The plugin and what it started are stopped with kubectl.
        deadline = time.monotonic() + 5
        while any(map(alive, plugin_pids(pids))) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(plugin_pids(pids)) == 2
        assert not [pid for pid in plugin_pids(pids) if alive(pid)]
    finally:
        # Whatever a failure left waiting: the plugin's kubectl ends with it.
        for pid in filter(alive, plugin_pids(pids)):
            os.kill(pid, signal.SIGKILL)


def plugin_pids(path: Path) -> list[int]:
    """The processes the login plugin wrote it started (none before it ran)."""
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


@pytest.fixture
def stand_in(project: Project, tmp_path: Path) -> tuple[Path, Path]:
    """A kubectl that builds with the project's real one, records every other call and has the
    real one check it; the env files filled in."""
    kubectl = tmp_path / "kubectl"
    home = tmp_path / "home"
    home.mkdir()
    closed = kubeconfig(tmp_path / "closed", {"token": "t"})
    kubectl.write_text(
        STAND_IN_KUBECTL.format(
            python=sys.executable,
            real=project.tool("kubectl"),
            closed=str(closed),
            home=str(home),
            max_polls=MAX_POLLS,
        )
    )
    kubectl.chmod(0o755)
    fill_env_files(project)
    return kubectl, tmp_path / "kubectl.log"


def calls(log: Path) -> list[dict[str, Any]]:
    """The stand-in kubectl's calls, in order; none that the real kubectl refuses."""
    recorded = [json.loads(line) for line in log.read_text().splitlines()]
    assert not [call for call in recorded if "refused" in call], recorded
    return recorded


def deploy(
    project: Project,
    stand_in: tuple[Path, Path],
    target: str,
    *args: str,
    check: bool = True,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """`make target` for staging's release with the stand-in kubectl."""
    kubectl, log = stand_in
    log.write_text("")
    result = project.make(
        target,
        *RELEASE,
        f"KUBECTL={kubectl}",
        *args,
        check=check,
        env={"KUBECTL_LOG": str(log), **env},
    )
    calls(log)
    return result


def test_apply_migrates_then_rolls_out(project: Project, stand_in: tuple[Path, Path]) -> None:
    built = documents(project.make("k8s-build", *RELEASE).stdout)
    slug = project.answers["project_slug"]
    namespace = f"{slug}-staging"
    job = f"job/{slug}-migrate"
    deployments = [ref(obj) for obj in built if obj["kind"] == "Deployment"]
    # The Job is not complete at the first two looks: apply waits for it.
    started = time.monotonic()
    result = deploy(project, stand_in, "k8s-apply", "K8S_TIMEOUT=86400", FAKE_PENDING="2")
    assert time.monotonic() - started >= 4  # two pauses between looks
    assert result.stderr == ""
    recorded = calls(stand_in[1])
    applied = ["apply", "--filename", "-"]
    look = ["get", job, "--namespace", namespace, "--output", JOB_STATE]
    assert [call["args"] for call in recorded] == [
        ["version", "--request-timeout=5s"],
        applied,
        applied,
        ["delete", job, "--namespace", namespace, "--ignore-not-found",
         "--cascade=foreground", "--wait=true", "--timeout=86400s"],
        applied,
        look,
        look,
        look,
        applied,
        *[["rollout", "status", name, "--namespace", namespace, "--timeout=86400s"]
          for name in deployments],
    ]  # fmt: skip
    namespaces, config, migration, rest = (
        {tuple(pair) for pair in recorded[i]["objects"]} for i in (1, 2, 4, 8)
    )
    assert namespaces == {("Namespace", namespace)}
    assert {kind for kind, _ in config} == {
        "ServiceAccount",
        "ConfigMap",
        "Secret",
        "NetworkPolicy",
    }
    assert migration == {("Job", job.removeprefix("job/"))}
    assert "Deployment" in {kind for kind, _ in rest}
    assert {kind for kind, _ in rest} <= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
    }
    # Every object of the build is applied once, and nothing else.
    sent = [tuple(pair) for call in recorded if "objects" in call for pair in call["objects"]]
    assert sorted(sent) == sorted((obj["kind"], obj["metadata"]["name"]) for obj in built)
    lines = result.stdout.splitlines()
    # Progress in order: the Job's line after kubectl's for the Job, before the rollouts'.
    assert lines.index(f"k8s-apply: {job} completed") > lines.index(f"{job} configured")
    assert lines.index(f"k8s-apply: {job} completed") < lines.index(
        f"{deployments[0]} successfully rolled out"
    )
    assert lines[-1] == (
        f"k8s-apply: staging runs {REGISTRY}/{slug}:1.2.0 "
        f"({len(deployments)} Deployment(s) rolled out)"
    )


STILL_RUNNING = "; it may still run: let it finish before make k8s-apply again, which deletes it"


@pytest.mark.parametrize(
    ("env", "why", "looks"),
    [
        ({"FAKE_JOB": "Failed"}, "failed", {1}),
        # Never complete: looked at again until K8S_TIMEOUT has passed, then given up, saying
        # that it may still run.
        ({"FAKE_PENDING": "1000"}, "did not complete within 3 s", {2, 3}),
    ],
)
def test_a_failed_migration_stops_before_any_deployment(
    project: Project, stand_in: tuple[Path, Path], env: dict[str, str], why: str, looks: set[int]
) -> None:
    slug = project.answers["project_slug"]
    job = f"job/{slug}-migrate"
    started = time.monotonic()
    result = deploy(project, stand_in, "k8s-apply", "K8S_TIMEOUT=3", check=False, **env)
    assert result.returncode != 0
    if "FAKE_PENDING" in env:
        assert time.monotonic() - started >= 3
    lines = own_lines(result)
    # The end of the Job's log, then one line.
    assert "relation notes already exists" in result.stderr
    still = "" if why == "failed" else STILL_RUNNING
    assert lines[-1] == (
        f"k8s-apply: the migration {job} {why} (its log above): no Deployment was changed; "
        f"kubectl describe {job} --namespace {slug}-staging says more{still}"
    )
    recorded = calls(stand_in[1])
    # Without a failure, a look every two seconds until the third (the count depends on how
    # long each look takes).
    assert [call["args"][0] for call in recorded].count("get") in looks
    assert recorded[-1]["args"] == ["logs", job, "--namespace", f"{slug}-staging", "--tail=20"]
    kinds = {kind for call in recorded for kind, _ in call.get("objects", [])}
    assert "Deployment" not in kinds
    assert not [call for call in recorded if call["args"][0] == "rollout"]


def test_a_rollout_that_fails_stops_the_apply(
    project: Project, stand_in: tuple[Path, Path]
) -> None:
    result = deploy(project, stand_in, "k8s-apply", check=False, FAKE_ROLLOUT="fail")
    assert result.returncode != 0
    first = f"deployment/{project.answers['project_slug']}-app"
    namespace = f"{project.answers['project_slug']}-staging"
    assert own_lines(result)[-1] == (
        f"k8s-apply: {first} did not roll out (see above): kubectl describe {first} "
        f"--namespace {namespace} says why"
    )
    rollouts = [call for call in calls(stand_in[1]) if call["args"][0] == "rollout"]
    assert [call["args"][2] for call in rollouts] == [first]


def interrupted(
    project: Project,
    stand_in: tuple[Path, Path],
    target: str,
    when: str,
    sig: signal.Signals,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """Run `make target` for staging's release as from a terminal, and send `sig` to its
    process group (what Ctrl-C does) once the stand-in was called with `when`."""
    kubectl, log = stand_in
    log.write_text("")
    command = ["make", target, *RELEASE, f"KUBECTL={kubectl}"]
    process = subprocess.Popen(
        command, cwd=project.path, env=clean_env(KUBECTL_LOG=str(log), **env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while f'"{when}"' not in log.read_text():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        time.sleep(0.3)
        os.killpg(process.pid, sig)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def test_an_interrupted_apply_says_where_it_stopped(
    project: Project, stand_in: tuple[Path, Path]
) -> None:
    slug = project.answers["project_slug"]
    job = f"job/{slug}-migrate"
    look = f"{job} --namespace {slug}-staging"
    # Ctrl-C while it waits for the migration.
    result = interrupted(project, stand_in, "k8s-apply", "get", signal.SIGINT, FAKE_PENDING="1000")
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert own_lines(result)[-1] == (
        f"k8s-apply: stopped during the migration (no Deployment changed): {job} may still "
        f"run; kubectl get {look} and kubectl logs {look} show it; let it finish before make "
        "k8s-apply again, which deletes it"
    )
    kinds = {kind for call in calls(stand_in[1]) for kind, _ in call.get("objects", [])}
    assert "Deployment" not in kinds
    # SIGTERM (a CI job cancelled) while a rollout runs.
    result = interrupted(
        project, stand_in, "k8s-apply", "rollout", signal.SIGTERM, FAKE_ROLLOUT="hang"
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    app = f"deployment/{slug}-app"
    assert own_lines(result)[-1] == (
        f"k8s-apply: stopped while waiting for {app}: its rollout goes on; kubectl rollout "
        f"status {app} --namespace {slug}-staging follows it"
    )


def test_an_interrupted_build_leaves_nothing_in_the_project(
    project: Project, stand_in: tuple[Path, Path], tmp_path: Path
) -> None:
    """The temporary kustomization that sets the image is outside the project: even a build
    killed outright (the project fixture checks git status, ignored files too) leaves nothing."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    interrupted(
        project, stand_in, "k8s-build", "kustomize", signal.SIGKILL,
        FAKE_KUSTOMIZE="hang", TMPDIR=str(temporary),
    )  # fmt: skip
    [wrapper] = temporary.glob("k8s-build-*/kustomization.yaml")
    assert json.loads(wrapper.read_text())["resources"][0].endswith("/overlays/staging")
    # Ctrl-C: one line, no traceback, the temporary folder removed.
    shutil.rmtree(wrapper.parent)
    result = interrupted(
        project, stand_in, "k8s-build", "kustomize", signal.SIGINT,
        FAKE_KUSTOMIZE="hang", TMPDIR=str(temporary),
    )  # fmt: skip
    assert own_lines(result) == ["k8s-build: stopped; nothing was sent to the cluster"]
    assert not list(temporary.iterdir())


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("0", "the cluster already runs what the staging overlay describes"),
        ("1", "the differences above are what make k8s-apply OVERLAY=staging would change"),
    ],
)
def test_diff_differences_are_not_a_failure(
    project: Project, stand_in: tuple[Path, Path], status: str, said: str
) -> None:
    slug = project.answers["project_slug"]
    job = f"job/{slug}-migrate"
    result = deploy(project, stand_in, "k8s-diff", FAKE_DIFF=status)
    assert result.stdout.splitlines() == [
        f"k8s-diff: {job} is left out: make k8s-apply replaces it (a Job cannot change)",
        f"k8s-diff: {said}",
    ]
    recorded = calls(stand_in[1])
    assert [call["args"] for call in recorded] == [
        ["version", "--request-timeout=5s"],
        ["get", "namespace", f"{slug}-staging", "--ignore-not-found", "--output", "name"],
        ["diff", "--filename", "-"],
    ]
    # Everything but the Job, whose pod template a diff would show as a change it refuses.
    built = documents(project.make("k8s-build", *RELEASE).stdout)
    expected = [[obj["kind"], obj["metadata"]["name"]] for obj in built if obj["kind"] != "Job"]
    assert sorted(recorded[2]["objects"]) == sorted(expected)


def test_diff_before_the_first_release_lists_everything_as_new(
    project: Project, stand_in: tuple[Path, Path]
) -> None:
    slug = project.answers["project_slug"]
    result = deploy(project, stand_in, "k8s-diff", FAKE_NO_NAMESPACE="1")
    built = documents(project.make("k8s-build", *RELEASE).stdout)
    assert result.stdout.splitlines() == [
        f"k8s-diff: namespace {slug}-staging does not exist yet, so all of this is new:",
        *[f"  {ref(obj)}" for obj in built],
        f"k8s-diff: all new: make k8s-apply OVERLAY=staging creates the {len(built)} objects above",
    ]
    assert [call["args"][0] for call in calls(stand_in[1])] == ["version", "get"]


def test_diff_that_fails_is_one_line(project: Project, stand_in: tuple[Path, Path]) -> None:
    result = deploy(project, stand_in, "k8s-diff", check=False, FAKE_DIFF="2")
    assert result.returncode != 0
    assert own_lines(result)[-1] == "k8s-diff: kubectl diff failed (exit 2, see above)"


# Loads each environment (JSON, on stdin) into the app's Settings, as a pod's environment.
LOAD_SETTINGS = """
import json, os, sys
from pydantic import ValidationError
from {package}.settings import Settings
results = []
for environment in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(environment)
    try:
        results.append({{"accepted": Settings().model_dump(mode="json")}})
    except ValidationError as error:
        results.append({{"refused": str(error)}})
print(json.dumps({{"fields": sorted(Settings.model_fields), "results": results}}))
"""


def test_the_examples_hold_settings_the_app_accepts(project: Project, tmp_path: Path) -> None:
    """Each overlay's ConfigMap and Secret, built from the .example files, as the environment of
    the app's Settings: accepted, every variable one it reads; a value it refuses is refused."""
    fill_env_files(project, filled=False)
    for overlay in ("staging", "production"):
        built = documents(project.make("k8s-build", f"OVERLAY={overlay}").stdout)
        [config] = [obj["data"] for obj in built if obj["kind"] == "ConfigMap"]
        [secret] = [obj["data"] for obj in built if obj["kind"] == "Secret"]
        environment = {
            **config,
            **{name: base64.b64decode(value).decode() for name, value in secret.items()},
        }
        spoiled = {**environment, "ENVIRONMENT": "prod"}
        # In an empty folder: no .env there to fill a gap (-B: no __pycache__ in the project).
        loaded = subprocess.run(
            [project.tool("python"), "-B", "-c", LOAD_SETTINGS.format(package=project.package)],
            cwd=tmp_path,
            env={},
            input=json.dumps([environment, spoiled]),
            capture_output=True,
            text=True,
            check=True,
        )
        said = json.loads(loaded.stdout)
        assert {name.lower() for name in environment} <= set(said["fields"]), overlay
        accepted, refusal = said["results"]
        assert "accepted" in accepted, (overlay, accepted)
        settings = accepted["accepted"]
        assert settings["environment"] == overlay
        assert settings["database_url"] == environment["DATABASE_URL"]
        assert (settings["host"], settings["port"]) == ("0.0.0.0", 8000)  # noqa: S104
        assert "environment" in refusal.get("refused", ""), (overlay, refusal)


def test_the_tools_are_the_projects_own(project: Project) -> None:
    """kubectl and kubernetes-validate come from the k8s dependency group, not the machine."""
    for tool in ("kubectl", "kubernetes-validate"):
        assert os.access(project.tool(tool), os.X_OK), tool
    dry = project.make("-n", "k8s-validate").stdout
    assert "--kubectl .venv/bin/kubectl " in dry
    assert "--validator .venv/bin/kubernetes-validate" in dry
