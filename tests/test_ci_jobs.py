"""What the rendered ci.yml's jobs run, run here: the integration job's steps against real
PostgreSQL and Redis servers (passwordless, as its service containers are), `make
test-integration` failing instead of skipping however an integration test skips, the project's
own check that those service containers run compose.yaml's images, the image job's /ready check
against the real app, and its wait for the image's health check against a stand-in docker CLI
(no Docker engine runs here). tests/test_workflows.py checks the jobs themselves."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from compose import SERVICE_VARIABLES, compose_commands, natively
from helpers import background, clean_env, free_port, run
from project import ALL_SERVICES, Project, Renderer
from servers import (
    Postgres,
    http,
    postgres_server,
    redis_server,
    require,
    wait_for,
)

# The service variables the integration job sets: PostgreSQL's, then Redis's.
LIVE_VARIABLES = tuple(name for names in SERVICE_VARIABLES.values() for name in names)
# What each integration test says when its variable is unset (tests/test_integration.py).
UNSET = {
    "test_postgres_migrations_and_notes": "DATABASE_URL is not a PostgreSQL URL",
    "test_redis_cache": "REDIS_URL is not set",
    "test_celery_task_through_the_broker": "CELERY_BROKER_URL is not set",
}
IMAGE = "acme-billing:ci"
# What the service conftest.py adds to a skip's reason when it fails an integration test instead.
REQUIRED = "(INTEGRATION_REQUIRED is set: an integration test fails instead of skipping)"
# An integration test that skips in its own way (and a test that is not one), written into the
# project: the conftest's hook fails any skip of an integration test, not just the three above.
IMPORTORSKIP_TEST = """\
import pytest


@pytest.mark.integration
def test_needs_a_module_nobody_installed() -> None:
    pytest.importorskip("not_a_module")


def test_not_integration_skips() -> None:
    pytest.skip("not an integration test")
"""


def ci_job(project: Project, name: str) -> dict[str, Any]:
    """A job of the project's ci.yml."""
    workflow = yaml.safe_load((project.path / ".github" / "workflows" / "ci.yml").read_text())
    job: dict[str, Any] = workflow["jobs"][name]
    return job


def runs_after_setup(job: dict[str, Any]) -> list[str]:
    """The `run:` scripts of a job after its `make setup` step (the fixture did the setup)."""
    runs = [step["run"] for step in job["steps"] if "run" in step]
    setup = next(i for i, script in enumerate(runs) if script.startswith("make setup"))
    return runs[setup + 1 :]


def step_run(job: dict[str, Any], needle: str) -> str:
    """The one `run:` script of `job` that contains `needle`."""
    [script] = [step["run"] for step in job["steps"] if needle in step.get("run", "")]
    return str(script)


def repointed(url: str, netloc: str) -> str:
    """`url` with its host, port and credentials replaced by `netloc`."""
    return urllib.parse.urlsplit(url)._replace(netloc=netloc).geturl()


@pytest.fixture(scope="module")
def project(renderer: Renderer) -> Project:
    """The full service variant (PostgreSQL, Redis, Celery, Docker, GitHub Actions), set up."""
    return renderer.render(setup=True, services=ALL_SERVICES, use_docker=True)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Postgres, str]]:
    """A throwaway PostgreSQL server and a Redis server without a password, as the integration
    job's service containers are."""
    require("redis-server")
    base = tmp_path_factory.mktemp("ci-servers")
    with postgres_server(base / "pg") as postgres, redis_server(base / "redis") as redis:
        yield postgres, redis


def job_env(project: Project, postgres: Postgres, redis: str) -> dict[str, str]:
    """The integration job's `env:`, its service URLs pointed at the real servers."""
    env = {name: str(value) for name, value in ci_job(project, "integration")["env"].items()}
    assert set(LIVE_VARIABLES) <= set(env)
    # The test server's own role and database; the Redis URLs keep their database numbers.
    env["DATABASE_URL"] = postgres.url
    redis_netloc = urllib.parse.urlsplit(redis).netloc
    for name in LIVE_VARIABLES[1:]:
        env[name] = repointed(env[name], redis_netloc)
    return env


@pytest.mark.slow
@pytest.mark.xdist_group("ci-jobs")
def test_the_integration_job_passes_against_real_services(
    project: Project, servers: tuple[Postgres, str]
) -> None:
    """The job's steps after setup, with its environment: migrations on PostgreSQL, then every
    integration test passes and none skips."""
    postgres, redis = servers
    job = ci_job(project, "integration")
    runs = runs_after_setup(job)
    assert runs == ["make migrate", "make test-integration"]
    env = job_env(project, postgres, redis)
    results = [
        run(["bash", "-e", "-c", script], project.path, env=clean_env(**env)) for script in runs
    ]
    assert postgres.query("select version_num from alembic_version") == "0001"
    out = results[-1].stdout
    assert re.search(rf"\b{len(UNSET)} passed\b", out), out
    assert "skipped" not in out
    assert "failed" not in out


def failure_sections(out: str) -> dict[str, str]:
    """Each failure's section of pytest's output, by the test under its `____ name ____`."""
    return dict(re.findall(r"^_{3,} (test_\w+) _{3,}$\n(.*?)(?=^_{3,} |^={3,} )", out, re.M | re.S))


@pytest.mark.slow
@pytest.mark.xdist_group("ci-jobs")
def test_integration_tests_fail_instead_of_skipping_naming_why(project: Project) -> None:
    """`make test-integration` with no service variable: each integration test fails with its
    skip's reason (which variable to set), and so does one that skips another way
    (importorskip); plain pytest (as `make test` runs them) skips them instead. A test that is
    not marked `integration` still skips."""
    extra = project.path / "tests" / "test_skips_another_way.py"
    extra.write_text(IMPORTORSKIP_TEST)
    try:
        unset = dict.fromkeys(LIVE_VARIABLES, "")  # an empty value counts as unset
        failed = project.make("test-integration", env=unset, check=False)
        out = failed.stdout + failed.stderr
        assert failed.returncode != 0, out
        assert re.search(rf"\b{len(UNSET) + 1} failed\b", out), out
        assert "skipped" not in out
        sections = failure_sections(out)
        for test, message in UNSET.items():
            assert f"{message}: set it to run this test {REQUIRED}" in sections[test], out
            assert "Traceback" not in sections[test]
        importorskip = sections["test_needs_a_module_nobody_installed"]
        assert f"could not import 'not_a_module': No module named 'not_a_module' {REQUIRED}" in (
            importorskip
        ), importorskip

        skipped = project.run(
            [project.tool("pytest"), "-m", "integration", "--no-cov", "-q"], env=unset, check=False
        )
        assert skipped.returncode == 0, skipped.stdout + skipped.stderr
        assert re.search(rf"\b{len(UNSET) + 1} skipped\b", skipped.stdout), skipped.stdout

        # Only `integration` tests: with INTEGRATION_REQUIRED set, another test's skip stands.
        mixed = project.run(
            [project.tool("pytest"), str(extra), "--no-cov", "-q"],
            env={"INTEGRATION_REQUIRED": "1"},
            check=False,
        )
        assert re.search(r"\b1 failed, 1 skipped\b", mixed.stdout), mixed.stdout
    finally:
        extra.unlink()


@pytest.mark.slow
@pytest.mark.xdist_group("ci-jobs")
def test_make_test_fails_when_compose_and_ci_images_differ(project: Project) -> None:
    """Dependabot bumps compose.yaml's PostgreSQL tag alone: `make test` (and so `make check`)
    fails, saying to update ci.yml's service images, until ci.yml has the same tag again."""
    compose, ci = project.path / "compose.yaml", project.path / ".github" / "workflows" / "ci.yml"
    originals = {path: path.read_text() for path in (compose, ci)}
    one_test = ["test", "PYTEST_ARGS=--no-cov -q -k compose_images"]
    try:
        passed = project.make(*one_test)
        assert re.search(r"\b1 passed\b", passed.stdout), passed.stdout

        current = re.search(r"^    image: (postgres:\S+)$", originals[compose], re.MULTILINE)
        assert current is not None
        assert f"image: {current[1]} # zizmor" in originals[ci]
        compose.write_text(originals[compose].replace(current[0], "    image: postgres:99-alpine"))
        failed = project.make(*one_test, check=False)
        out = failed.stdout + failed.stderr
        assert failed.returncode != 0, out
        assert re.search(r"\b1 failed\b", out), out
        assert "update ci.yml's service images to compose.yaml's" in out
        assert f"'postgres': '{current[1]}'" in out
        assert "'postgres': 'postgres:99-alpine'" in out

        # What the failure asks for: ci.yml's image made compose.yaml's again.
        ci.write_text(originals[ci].replace(f"image: {current[1]} ", "image: postgres:99-alpine "))
        fixed = project.make(*one_test)
        assert re.search(r"\b1 passed\b", fixed.stdout), fixed.stdout
    finally:
        for path, text in originals.items():
            path.write_text(text)


@contextlib.contextmanager
def serving(project: Project, env: dict[str, str], log: Path) -> Iterator[int]:
    """The app as compose.yaml runs it, natively, on a free loopback port, until /health."""
    port = free_port()
    command = natively(compose_commands(project)["app"], project)
    app_env = clean_env(**env, HOST="127.0.0.1", PORT=str(port))
    with background(command, project.path, app_env, log):
        base = f"http://127.0.0.1:{port}"
        wait_for("the app to serve /health", lambda: http(f"{base}/health")[0] == 200, [log])
        yield port


def smoke(project: Project, script: str, *extra: str, port: int) -> tuple[int, str, str]:
    """Run a step's script (PORT set, `extra` appended); return its status, stdout and stderr."""
    command = " ".join([script, *extra])
    result = run(
        ["bash", "-e", "-c", command], project.path, env=clean_env(PORT=str(port)), check=False
    )
    return result.returncode, result.stdout, result.stderr


@pytest.mark.slow
@pytest.mark.xdist_group("ci-jobs")
def test_the_ready_check_passes_then_names_what_is_down(
    project: Project, servers: tuple[Postgres, str], tmp_path: Path
) -> None:
    """The image job's /ready check, run as the job runs it against the real app: it passes
    when every service answers; when Redis stops, or nothing answers, it fails in one line."""
    postgres, _ = servers
    script = step_run(ci_job(project, "image"), "smoke.py ready")
    # A Redis of its own, to stop it while the app runs.
    with contextlib.ExitStack() as redis_up:
        redis = redis_up.enter_context(redis_server(tmp_path / "redis"))
        env = job_env(project, postgres, redis)
        with serving(project, env, tmp_path / "app.log") as port:
            url = f"http://127.0.0.1:{port}/ready"
            status, out, err = smoke(project, script, port=port)
            assert status == 0, out + err
            assert out == f"smoke: {url}: database ok, redis ok, broker ok\n"

            # A check the app does not make (a service left unconfigured) fails too.
            status, out, err = smoke(project, script, "queue", "--timeout", "0", port=port)
            assert status == 1
            assert err.splitlines() == [
                f"smoke: {url} does not check queue: is it configured? (checks: database, "
                "redis, broker) (still, after 0 s)"
            ]

            # Redis down: /ready answers 503, and the one line names what is unavailable.
            redis_up.close()
            status, out, err = smoke(project, script, "--timeout", "1", port=port)
            assert status == 1
            assert out == ""
            assert err.splitlines() == [
                f"smoke: {url} answered 503: redis unavailable, broker unavailable "
                "(still, after 1 s)"
            ]

    # Nothing listening: it says the URL does not answer.
    nothing = free_port()
    status, out, err = smoke(project, script, "--timeout", "1", port=nothing)
    assert status == 1
    [line] = err.splitlines()
    assert line.startswith(f"smoke: http://127.0.0.1:{nothing}/ready does not answer: ")
    assert "Connection refused" in line
    assert line.endswith("(still, after 1 s)")


# A stand-in docker CLI (Python, for the JSON): each call is logged to DOCKER_LOG; `inspect`
# answers the next container State of the SCENARIO file (one JSON object a line; the last one
# repeats), as `docker inspect` lists it, or the rest of a `raw:` line as it is.
STAND_IN_DOCKER = """\
import json, os, sys
from pathlib import Path

with open(os.environ["DOCKER_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
command = sys.argv[1]
if command == "run":
    print("c0ffee" * 10 + "c0ffee")
elif command == "inspect":
    scenario = Path(os.environ["SCENARIO"])
    states = scenario.read_text().splitlines()
    if len(states) > 1:
        scenario.write_text("\\n".join(states[1:]))
    if states[0].startswith("raw:"):
        print(states[0].removeprefix("raw:"))
    else:
        print(json.dumps([{"Id": "c0ffee", "State": json.loads(states[0])}]))
elif command == "logs":
    print("INFO: Uvicorn running on http://0.0.0.0:8000")
"""
PROBE_FAILED = (
    "healthcheck: http://127.0.0.1:8000/health: <urlopen error [Errno 111] Connection refused>"
)


def state(status: str, health: str | None = None, output: str = "", exit_code: int = 0) -> str:
    """One container State as `docker inspect` reports it."""
    found: dict[str, Any] = {"Status": status, "ExitCode": exit_code}
    if health is not None:
        found["Health"] = {
            "Status": health,
            "Log": [{"ExitCode": 1, "Output": output}] if output else [],
        }
    return json.dumps(found)


@pytest.fixture(scope="module")
def smoke_script(renderer: Renderer) -> Path:
    """scripts/smoke.py of a rendered docker variant (the same in every one)."""
    return renderer.variant("defaults").path / "scripts" / "smoke.py"


STARTING = state("running", "starting")


@pytest.mark.parametrize(
    ("states", "timeout", "message"),
    [
        (
            [STARTING, STARTING, state("running", "healthy")],
            30,
            rf"smoke: {IMAGE} is healthy after \d+ s",
        ),
        (
            [STARTING, state("running", "unhealthy", PROBE_FAILED)],
            30,
            re.escape(f"smoke: {IMAGE} is unhealthy: {PROBE_FAILED}"),
        ),
        (
            [state("exited", "starting", exit_code=3)],
            30,
            re.escape(f"smoke: {IMAGE} stopped (exit code 3) before it was healthy"),
        ),
        (
            [state("running", "starting", PROBE_FAILED)],
            0,
            re.escape(
                f"smoke: {IMAGE} was not healthy within 0 s (still starting; "
                f"last check: {PROBE_FAILED})"
            ),
        ),
        (
            [state("running")],
            30,
            re.escape(f"smoke: {IMAGE} has no HEALTHCHECK: there is nothing to wait for"),
        ),
        (
            # Removed meanwhile (docker rm, --rm): inspect lists no container.
            [STARTING, "raw:[]"],
            30,
            re.escape(
                f"smoke: {IMAGE} is gone: docker inspect no longer lists its container c0ffeec0ffee"
            ),
        ),
        (
            ["raw:<html>502 Bad Gateway</html>"],
            30,
            re.escape(
                "smoke: docker inspect answered '<html>502 Bad Gateway</html>', not the JSON "
                "list it prints"
            ),
        ),
        (
            ['raw:{"Id": "c0ffee"}'],
            30,
            re.escape("smoke: docker inspect answered a JSON dict, not a list"),
        ),
    ],
    ids=["healthy", "unhealthy", "exited", "timeout", "no-healthcheck", "gone", "garbage", "dict"],
)
def test_the_image_check_waits_for_the_images_own_healthcheck(
    smoke_script: Path, tmp_path: Path, states: list[str], timeout: int, message: str
) -> None:
    """Run alone with the image's HEALTHCHECK (its command untouched, probed more often), until
    Docker says healthy; otherwise its logs, then one line why; always removed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(f"#!{sys.executable}\n{STAND_IN_DOCKER}")
    docker.chmod(0o755)
    log, scenario = tmp_path / "docker.log", tmp_path / "scenario"
    scenario.write_text("\n".join(states))
    env = clean_env(DOCKER_LOG=str(log), SCENARIO=str(scenario))
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    command = ["python3", str(smoke_script), "image", IMAGE, "--timeout", str(timeout)]
    result = run(command, tmp_path, env=env, check=False)
    healthy = states[-1] == state("running", "healthy")
    assert result.returncode == (0 if healthy else 1), result.stdout + result.stderr
    said = result.stdout if healthy else result.stderr
    assert re.fullmatch(message, said.splitlines()[-1]), said
    assert "Traceback" not in result.stderr
    calls = log.read_text().splitlines()
    container = "c0ffee" * 10 + "c0ffee"
    assert calls[0] == f"run --detach --pull=never --health-interval=2s {IMAGE}"
    assert calls[-1] == f"rm --force --volumes {container}"
    assert "--health-cmd" not in calls[0]
    if healthy:
        assert result.stderr == ""
    else:
        assert calls[-2] == f"logs {container}"
        assert f"--- logs of {IMAGE} (c0ffeec0ffee)" in result.stderr
        assert "Uvicorn running" in result.stderr
