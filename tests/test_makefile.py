"""The rendered Makefile: every target `make help` lists is run here (or in
test_project_check.py), for real where a CI machine allows it."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import stat
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import copier
import pytest

from helpers import BASE_ANSWERS, VARIANTS, clean_env, commit_all, render, run

pytestmark = pytest.mark.slow

# Every target a variant may list, and where it is run. A target that `make help` lists and
# this set lacks fails test_every_listed_target_is_tested: new targets cannot land untested.
TESTED = {
    # test_project_check.py, for every variant
    "check", "clean", "format", "install", "lint", "lock", "pre-commit", "security", "setup",
    "test", "typecheck",
    # test_auto_sync.py
    "auto-sync", "check-sync", "remove-sync", "setup-sync", "sync-log",
    # test_service.py
    "beat", "db-shell", "flower", "migrate", "migration", "ready", "redis-cli", "run", "worker",
    # this module, against a stand-in docker CLI and without one
    "docker-build", "docker-compose-config", "docker-compose-down", "docker-compose-logs",
    "docker-compose-ps", "docker-compose-up", "docker-push", "docker-run",
    # this module
    "audit", "build", "bump-major", "bump-minor", "bump-patch", "clean-all", "coverage",
    "coverage-html", "doctor", "env", "help", "lint-fix", "pre-commit-install", "shell", "sync",
    "template-update", "test-fast", "upgrade", "version",
}  # fmt: skip
SYNC = {"auto-sync", "check-sync", "remove-sync", "setup-sync", "sync-log"}
# A service's targets, by the `services` answer they need ("" for every service).
SERVICE = {
    "": {"env", "run", "migrate", "migration", "ready", "db-shell"},
    "redis": {"redis-cli"},
    "celery": {"worker", "beat", "flower"},
}
# A service's targets with `use_docker`.
DOCKER = {target for target in TESTED if target.startswith("docker-")}
COMMON = TESTED - {"pre-commit", "pre-commit-install"} - SYNC - set().union(*SERVICE.values())
COMMON -= DOCKER
HELP_LINE = re.compile(r"^  (?P<target>[a-z][a-z0-9-]*) +(?P<description>\S.*)$")
KINDS = {"service": {}, "library": {"project_type": "library"}}


def expected_targets(answers: dict[str, Any]) -> set[str]:
    """The targets a variant's `make help` must list: exactly those that work in it."""
    targets = set(COMMON)
    if answers.get("project_type", "service") == "service":
        for service in ["", *answers.get("services", ["postgres", "redis", "celery"])]:
            targets |= SERVICE.get(service, set())
        if answers.get("use_docker", True):
            targets |= DOCKER
    if answers.get("use_pre_commit", True):
        targets |= {"pre-commit", "pre-commit-install"}
    if answers.get("auto_sync", True):
        targets |= SYNC
    return targets


def expected_groups(answers: dict[str, Any]) -> list[str]:
    """The headings of a variant's `make help`, in order."""
    groups = ["Setup", "Quality", "Test", "Build and release", "Run"]
    if answers.get("project_type", "service") == "service":
        groups.append("Database and queue")
        if answers.get("use_docker", True):
            groups.append("Docker")
    if answers.get("auto_sync", True):
        groups.append("Sync")
    return [*groups, "Maintenance"]


def help_targets(project: Path) -> dict[str, str]:
    """Targets and descriptions that `make help` lists."""
    out = run(["make", "help"], project).stdout
    return {m["target"]: m["description"] for m in map(HELP_LINE.match, out.splitlines()) if m}


def make(project: Path, *args: str, check: bool = True, **env: str) -> str:
    """Run make in the project; return stdout + stderr."""
    result = run(["make", *args], project, env=clean_env(**env), check=check)
    return result.stdout + result.stderr


@pytest.fixture(scope="module", params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    """service (the full variant) or library."""
    return str(request.param)


@pytest.fixture(scope="module")
def project(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variant rendered with its setup and committed; tests leave its tree as they found it."""
    path = render(tmp_path_factory.mktemp(f"make-{kind}") / "project", KINDS[kind], setup=True)
    commit_all(path, "Initial commit")
    return path


@pytest.fixture
def scratch(kind: str, tmp_path: Path) -> Path:
    """A throwaway render, for targets that change the project."""
    path = render(tmp_path / "scratch", KINDS[kind], setup=True)
    commit_all(path, "Initial commit")
    return path


def git_status(project: Path) -> str:
    """Porcelain status, ignored files excluded."""
    return run(["git", "status", "--porcelain"], project).stdout


def test_help_lists_exactly_the_targets_that_work(kind: str, project: Path) -> None:
    targets = help_targets(project)
    assert set(targets) == expected_targets(KINDS[kind])
    assert all(len(description) > 10 for description in targets.values())
    if kind == "service":
        assert len(targets) >= 30


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_listed_target_is_tested(name: str, tmp_path: Path) -> None:
    """Every variant, rendered without setup: `make help` needs nothing installed."""
    project = render(tmp_path / "p", VARIANTS[name])
    targets = set(help_targets(project))
    assert targets <= TESTED, f"untested targets: {sorted(targets - TESTED)}"
    assert targets == expected_targets(VARIANTS[name])


def test_help_is_grouped_aligned_and_plain_without_a_terminal(kind: str, project: Path) -> None:
    out = run(["make"], project).stdout
    assert out == run(["make", "help"], project).stdout
    assert "\033[" not in out
    headings = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert headings == expected_groups(KINDS[kind])
    columns = {m.start("description") for m in map(HELP_LINE.match, out.splitlines()) if m}
    assert columns == {24}


def test_help_is_coloured_on_a_terminal(project: Path) -> None:
    leader, follower = pty.openpty()
    with subprocess.Popen(
        ["make", "help"], cwd=project, env=clean_env(), stdout=follower, stderr=follower
    ) as process:
        os.close(follower)
        chunks = []
        with contextlib.suppress(OSError):  # EIO once make exits
            while chunk := os.read(leader, 4096):
                chunks.append(chunk)
        process.wait()
    os.close(leader)
    assert b"\033[36msetup" in b"".join(chunks)


def test_makefile_is_portable_to_make_3_81(project: Path) -> None:
    """macOS ships GNU make 3.81: nothing from 3.82 or later, and every target is phony."""
    text = (project / "Makefile").read_text()
    makefile = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    for feature in (".SHELLFLAGS", ".ONESHELL", ".RECIPEPREFIX", "::=", "!=", "$(file ",
                    "undefine ", "private ", "$(guile "):  # fmt: skip
        assert feature not in makefile, feature
    phony = set(re.findall(r"^\.PHONY: (\S+)$", makefile, re.MULTILINE))
    assert set(help_targets(project)) <= phony


def test_readme_documents_every_target(project: Path) -> None:
    readme = (project / "README.md").read_text()
    documented = set(re.findall(r"^\| `make ([a-z0-9-]+)", readme, re.MULTILINE))
    assert documented == set(help_targets(project))


def test_setup_sync_install_and_lock_leave_a_clean_tree(project: Path) -> None:
    for target in ("setup", "sync", "install", "lock"):
        make(project, target)
    assert git_status(project) == ""
    assert "--upgrade-package iniconfig" in make(project, "-n", "upgrade", "PACKAGE=iniconfig")
    assert "uv lock --upgrade" in make(project, "-n", "upgrade")


def test_upgrade_one_package(project: Path) -> None:
    out = make(project, "upgrade", "PACKAGE=iniconfig")
    assert "uv sync --locked" in out
    make(project, "check")
    run(["git", "checkout", "--", "uv.lock"], project)
    make(project, "install")


def test_lint_fix_applies_safe_fixes(project: Path) -> None:
    module = next((project / "src").glob("*/log.py"))
    original = module.read_text()
    module.write_text(original.replace('"""\n', '"""\n\nimport os\n', 1))
    assert make(project, "lint", check=False).count("F401") == 1
    try:
        # ruff may count the unused import and the import block it leaves as one fix or two.
        assert re.search(r"Found \d+ errors? \(\d+ fixed, 0 remaining\)", make(project, "lint-fix"))
        assert "import os" not in module.read_text()
        make(project, "lint")
    finally:
        module.write_text(original)


def test_test_fast_skips_slow_tests_and_coverage(project: Path) -> None:
    slow = project / "tests" / "test_slow_example.py"
    slow.write_text("import pytest\n\n\n@pytest.mark.slow\ndef test_slow() -> None:\n    pass\n")
    try:
        fast = make(project, "test-fast")
        assert re.search(r"\d+ passed, (\d+ skipped, )?1 deselected", fast)
        assert "coverage" not in fast.lower()
        full = make(project, "test")
        assert "1 deselected" not in full
        assert "Required test coverage of 90.0% reached" in full
    finally:
        slow.unlink()


def test_coverage_reports(project: Path) -> None:
    out = make(project, "coverage")
    assert re.search(r"Name +Stmts +Miss +Branch +BrPart +Cover +Missing", out)
    make(project, "coverage-html")
    assert (project / "htmlcov" / "index.html").exists()
    make(project, "clean")
    assert not (project / "htmlcov").exists()
    assert git_status(project) == ""


def test_pre_commit_install(project: Path) -> None:
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.unlink()
    assert "pre-commit installed at .git/hooks/pre-commit" in make(project, "pre-commit-install")
    assert hook.exists()


def test_shell_imports_the_package(project: Path) -> None:
    package = next(p.name for p in (project / "src").iterdir() if p.is_dir())
    result = subprocess.run(
        ["make", "shell"],
        cwd=project,
        env=clean_env(),
        input=f"import {package}\nprint('version', {package}.__version__)\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert "version 0.1.0" in result.stdout


def test_build_makes_a_typed_wheel_and_an_sdist(project: Path) -> None:
    make(project, "build")
    dist = project / "dist"
    wheel = next(dist.glob("acme_billing-0.1.0-py3-none-any.whl"))
    assert next(dist.glob("acme_billing-0.1.0.tar.gz"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"acme_billing/__init__.py", "acme_billing/py.typed"} <= names
    assert not any(name.startswith("tests/") for name in names)
    make(project, "clean")
    assert git_status(project) == ""


def test_version_and_bumps_change_one_place_and_no_history(scratch: Path) -> None:
    head = run(["git", "rev-parse", "HEAD"], scratch).stdout
    assert make(scratch, "version").strip() == "0.1.0"
    for target, version in (("bump-patch", "0.1.1"), ("bump-minor", "0.2.0"),
                            ("bump-major", "1.0.0")):  # fmt: skip
        assert f" => {version}" in make(scratch, target)
        assert make(scratch, "version").strip() == version
    changed = run(["git", "diff", "--name-only"], scratch).stdout.split()
    assert changed == ["pyproject.toml", "uv.lock"]
    assert 'version = "1.0.0"' in (scratch / "pyproject.toml").read_text()
    assert run(["git", "rev-parse", "HEAD"], scratch).stdout == head
    assert run(["git", "tag"], scratch).stdout == ""
    # __version__ follows, and every gate (lock consistency included) still passes.
    assert (
        "version 1.0.0"
        in run(
            [".venv/bin/python", "-c", "import acme_billing as p; print('version', p.__version__)"],
            scratch,
        ).stdout
    )
    make(scratch, "check")


def test_clean_all_removes_the_environment_and_the_next_target_restores_it(
    scratch: Path,
) -> None:
    make(scratch, "clean-all")
    assert not (scratch / ".venv").exists()
    out = make(scratch, "lint")
    assert ".venv is not set up yet: running make setup first." in out
    assert (scratch / ".venv" / ".setup-done").exists()


def test_env_creates_and_never_overwrites(kind: str, project: Path) -> None:
    if kind != "service":
        pytest.skip("only services have .env.example")
    env_file = project / ".env"
    try:
        assert "Created .env from .env.example" in make(project, "env")
        created = env_file.read_text().splitlines()
        example = (project / ".env.example").read_text().splitlines()
        # The full service has Flower: its password is made up, the rest is the example.
        flower = example.index("FLOWER_BASIC_AUTH=")
        assert re.fullmatch(r"FLOWER_BASIC_AUTH=admin:[A-Za-z0-9]{24}", created.pop(flower))
        del example[flower]
        assert created == example
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        env_file.write_text("LOG_LEVEL=DEBUG\nSECRET=mine\n")
        out = make(project, "env")
        assert ".env exists: left unchanged." in out
        assert "does not set: ENVIRONMENT LOG_JSON HOST PORT" in out
        assert env_file.read_text() == "LOG_LEVEL=DEBUG\nSECRET=mine\n"
    finally:
        env_file.unlink(missing_ok=True)


def test_doctor_on_a_complete_machine(project: Path) -> None:
    out = make(project, "doctor")
    for tool in ("git", "make", "uv", "python", ".venv"):
        assert re.search(rf"^  ok +{re.escape(tool)} ", out, re.MULTILINE), (tool, out)
    assert "doctor: everything the project needs is here." in out


def test_doctor_names_what_is_missing(project: Path, tmp_path: Path) -> None:
    """No Python on PATH (uv only in .venv), and a make that is too old: exit 1, each named."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "git", "sed", "head", "dirname", "timeout", "cat", "tr"):
        (tools / name).symlink_to(run(["which", name], project).stdout.strip())
    env = {"PATH": str(tools), "HOME": str(tmp_path), "MAKE_VERSION": "3.80"}
    (project / ".venv" / ".setup-done").rename(project / ".venv" / "setup-done.bak")
    try:
        result = run(["bash", "scripts/doctor.sh"], project, env=env, check=False)
    finally:
        (project / ".venv" / "setup-done.bak").rename(project / ".venv" / ".setup-done")
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "MISSING  make         GNU Make 3.80 is too old: install 3.81 or newer" in out
    assert "MISSING  python       scripts/setup.sh found no Python it can use:" in out
    assert "uv python install 3.12" in out
    assert re.search(r"todo +\.venv +not set up yet", out)
    assert "absent   crontab      make setup-sync needs cron" in out
    assert "doctor: 2 required tool(s) missing" in out


class StandInOsv(BaseHTTPRequestHandler):
    """An OSV API stand-in: every locked version of `vulnerable` has one advisory."""

    vulnerable = ""

    def reply(self, body: dict[str, Any]) -> None:
        """Send a JSON body."""
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        """/v1/querybatch."""
        queries = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["queries"]
        hit = {"vulns": [{"id": "GHSA-test-0001", "modified": "2026-01-01T00:00:00Z"}]}
        self.reply({"results": [hit if q["package"]["name"] == self.vulnerable else {}
                                for q in queries]})  # fmt: skip

    def do_GET(self) -> None:
        """/v1/vulns/<id>."""
        events = [{"introduced": "0"}, {"fixed": "999.0"}]
        self.reply({
            "id": "GHSA-test-0001", "summary": f"Stand-in advisory for {self.vulnerable}",
            "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"name": self.vulnerable, "ecosystem": "PyPI"},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
        })  # fmt: skip

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def osv() -> Iterator[tuple[str, type[StandInOsv]]]:
    """The stand-in's URL and handler class (set `vulnerable` on it)."""
    handler = type("Handler", (StandInOsv,), {"vulnerable": ""})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_audit_against_a_vulnerability_database(
    project: Path, osv: tuple[str, type[StandInOsv]]
) -> None:
    url, handler = osv
    assert "no known vulnerabilities" in make(project, "audit", f"AUDIT_SERVICE_URL={url}")
    handler.vulnerable = "pygments"
    result = run(["make", "audit", f"AUDIT_SERVICE_URL={url}"], project, check=False)
    assert result.returncode != 0
    assert "GHSA-test-0001: Stand-in advisory for pygments" in result.stdout
    ignored = make(
        project, "audit", f"AUDIT_SERVICE_URL={url}", "AUDIT_ARGS=--ignore GHSA-test-0001"
    )
    assert "GHSA-test-0001" in ignored


def test_audit_without_network_fails_with_one_clear_line(project: Path) -> None:
    result = run(["make", "audit", "AUDIT_SERVICE_URL=http://127.0.0.1:9"], project, check=False)
    assert result.returncode != 0
    assert (
        "audit: could not query http://127.0.0.1:9 (see above); check the network, "
        "or set AUDIT_SERVICE_URL to a mirror"
    ) in result.stderr


def test_template_update_pulls_a_new_template_release(template: Path, tmp_path: Path) -> None:
    """`make template-update` runs the pinned copier against the project's template."""
    project = tmp_path / "project"
    copier.run_copy(str(template), str(project), data={**BASE_ANSWERS, "skip_setup": True},
                    defaults=True, unsafe=True, quiet=True)  # fmt: skip
    make(project, "setup")
    commit_all(project, "Initial project")
    editorconfig = template / "template" / ".editorconfig"
    editorconfig.write_text(editorconfig.read_text() + "\n[*.sh]\nindent_size = 2\n")
    commit_all(template, "v2: shell scripts use two spaces")
    run(["git", "tag", "v2"], template)

    make(project, "template-update", "COPIER_ARGS=--defaults")
    assert "_commit: v2" in (project / ".copier-answers.yml").read_text()
    assert "[*.sh]" in (project / ".editorconfig").read_text()
    make(project, "check")


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
def docker_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The defaults rendered without setup: the Docker targets need no .venv."""
    return render(tmp_path_factory.mktemp("make-docker") / "project")


def own_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What a failed target printed, without make's own `*** ... Error N` line."""
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if not MAKE_ERROR.match(line)]


@pytest.mark.parametrize("target", sorted(DOCKER))
def test_docker_targets_without_docker_fail_with_one_clear_line(
    target: str, docker_project: Path, tmp_path: Path
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "awk"):
        (tools / name).symlink_to(run(["which", name], docker_project).stdout.strip())
    make_path = run(["which", "make"], docker_project).stdout.strip()
    no_docker_on_path = {"PATH": str(tools), "HOME": str(tmp_path), "REGISTRY": "r.example.com"}
    results = [
        run([make_path, target], docker_project, env=no_docker_on_path, check=False),
        run(["make", target, "DOCKER=/nonexistent"], docker_project, check=False),
    ]
    for result in results:
        assert result.returncode != 0
        lines = own_lines(result)
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"{target}: ")
        assert "docker" in lines[0].lower()
        assert "install" in lines[0]
        assert "https://docs.docker.com/" in lines[0]
    assert not (docker_project / ".env").exists()


def test_docker_targets_run_the_docker_cli(docker_project: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(STAND_IN_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    env = clean_env(DOCKER_LOG=str(log))
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

    def calls(*args: str) -> list[str]:
        log.write_text("")
        run(["make", *args], docker_project, env=env)
        return [line.rstrip() for line in log.read_text().splitlines()]

    assert "docker build" in make(docker_project, "-n", "docker-build")
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
        assert "FLOWER_BASIC_AUTH=admin:" in env_file.read_text()  # make env made it
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
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(STAND_IN_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    env = clean_env(DOCKER_LOG=str(log), NO_COMPOSE="1")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    result = run(["make", "docker-push"], docker_project, env=env, check=False)
    assert result.returncode != 0
    assert own_lines(result) == [
        "docker-push: set REGISTRY, e.g. make docker-push REGISTRY=registry.example.com/team "
        "TAG=0.1.0"
    ]
    for target in sorted(t for t in DOCKER if t.startswith("docker-compose-")):
        result = run(["make", target], docker_project, env=env, check=False)
        assert result.returncode != 0
        assert own_lines(result) == [
            f"{target}: 'docker compose' does not work: install the Docker Compose plugin "
            "(https://docs.docker.com/compose/install/) or set COMPOSE"
        ]
    assert not log.exists()
    assert not (docker_project / ".env").exists()
