"""The service variant for real: its make targets, its integration tests, and the compose stack
run natively (the commands and environment parsed from compose.yaml) against real PostgreSQL and
a Redis that requires a password."""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from compose import compose_commands, compose_environment, interpolate, natively, without_password
from helpers import background, clean_env, free_port, run
from project import ALL_SERVICES, Project, Renderer
from servers import (
    Postgres,
    http,
    postgres_server,
    redis_pong,
    redis_server,
    require,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("service")]

PACKAGE = "acme_billing"
# The test Redis requires it, as the compose Redis requires REDIS_PASSWORD (`make env` makes
# one of 24 letters and digits).
REDIS_PASSWORD = secrets.token_hex(12)
# What readiness says when Redis refuses a URL's password (services.py).
REFUSED = "AuthenticationError: Redis refused {}: its password is missing or wrong"


@pytest.fixture(scope="module")
def project(renderer: Renderer) -> Project:
    """The full service variant (PostgreSQL, Redis, Celery, Docker), set up and committed."""
    made = renderer.render(setup=True, services=ALL_SERVICES, use_docker=True)
    made.commit()
    return made


@pytest.fixture(scope="module")
def backing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Postgres, str]]:
    """A throwaway PostgreSQL server and Redis server (requiring REDIS_PASSWORD) on free
    loopback ports."""
    require("redis-server")
    base = tmp_path_factory.mktemp("servers")
    with (
        postgres_server(base / "pg") as postgres,
        redis_server(base / "redis", password=REDIS_PASSWORD) as redis,
    ):
        yield postgres, redis


@pytest.fixture
def live_env(backing: tuple[Postgres, str]) -> dict[str, str]:
    """The variables that point the app at the real servers (a Redis database per role)."""
    postgres, redis = backing
    base = redis.rsplit("/", 1)[0]
    return {
        "DATABASE_URL": postgres.url,
        "REDIS_URL": f"{base}/0",
        "CELERY_BROKER_URL": f"{base}/1",
        "CELERY_RESULT_BACKEND": f"{base}/2",
        "FLOWER_BASIC_AUTH": "admin:s3cret-flower",
        "LOG_LEVEL": "INFO",
    }


def redis_parts(url: str) -> tuple[int, str]:
    """The port and password of a redis:// URL."""
    parts = urllib.parse.urlsplit(url)
    assert parts.port is not None
    return parts.port, urllib.parse.unquote(parts.password or "")


def test_migrate_ready_and_db_shell_on_the_embedded_database(project: Project) -> None:
    """No service configured: SQLite, and every database target works."""
    assert "database migrated" in project.make("migrate").stderr
    assert (project.path / "var" / "app.db").exists()
    assert "database: ok" in project.make("ready").stdout
    require("sqlite3", "sqlite3")
    shell = project.make("db-shell", input="select count(*) from notes;\n")
    assert shell.stdout.strip() == "0"


def test_a_model_change_becomes_a_migration_that_passes_the_checks(render: Renderer) -> None:
    """make migration writes what models.py adds, make migrate applies it, make check passes."""
    project = render("everything-off", setup=True)
    project.commit()
    path = project.path
    unnamed = project.make("migration", check=False)
    assert unnamed.returncode != 0
    assert 'make migration needs MSG, what the migration does: make migration MSG="' in (
        unnamed.stderr
    )
    assert not (path / "var").exists(), "the database was migrated before MSG was checked"
    same = project.make("migration", "MSG=nothing", check=False)
    assert same.returncode != 0
    assert "new-migration: the database already matches models.py" in same.stderr
    # A flag and a timestamp of the project's own UTCDateTime type.
    models = path / "src" / PACKAGE / "models.py"
    columns = (
        '    done: Mapped[bool] = mapped_column(default=False, server_default="0")\n'
        "    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())\n"
    )
    models.write_text(models.read_text() + columns)
    written = project.make("migration", 'MSG=add a "done" flag and time to notes')
    versions = path / "src" / PACKAGE / "migrations" / "versions"
    migration = versions / "v0002_add_a_done_flag_and_time_to_notes.py"
    assert f"Wrote {migration}: review it" in written.stdout
    source = migration.read_text()
    assert "batch_op.add_column" in source
    assert 'sa.Column("done_at", sa.DateTime(timezone=True), nullable=True)' in source
    project.make("migrate")
    with contextlib.closing(sqlite3.connect(path / "var" / "app.db")) as database:
        added = {row[1] for row in database.execute("PRAGMA table_info(notes)")}
    assert {"done", "done_at"} <= added
    # The new file meets the project's bar: ruff, mypy strict, the tests and their coverage gate;
    # and the tests write no migration of their own.
    project.make("check")
    status = project.run(["git", "status", "--porcelain", "--untracked-files=all"]).stdout
    assert sorted(status.splitlines()) == sorted(
        [f" M src/{PACKAGE}/models.py", f"?? {migration.relative_to(path)}"]
    )


def test_run_serves_the_api(project: Project, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(PORT=str(port))
    with background(["make", "run"], project.path, env, tmp_path / "run.log") as log:
        base = f"http://127.0.0.1:{port}"
        wait_for("make run to serve /health", lambda: http(f"{base}/health")[0] == 200, [log])
        assert http(f"{base}/ready") == (200, {"status": "ready", "checks": {"database": "ok"}})
        status, note = http(f"{base}/notes", {"text": "from make run"})
        assert status == 201
        assert http(f"{base}/notes/{note['id']}") == (200, note)
    assert "migrate" in log.read_text()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("worker", "broker: not configured: set CELERY_BROKER_URL"),
        ("beat", "broker: not configured: set CELERY_BROKER_URL"),
        ("flower", "broker: not configured: set CELERY_BROKER_URL"),
        ("redis-cli", "redis-cli: REDIS_URL is not set"),
    ],
)
def test_targets_without_their_service_fail_with_one_clear_line(
    project: Project, target: str, message: str
) -> None:
    result = project.make(target, check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_ready_names_a_service_that_is_down(project: Project) -> None:
    result = project.make(
        "ready", env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, check=False
    )
    assert result.returncode != 0
    assert "database: ok" in result.stdout
    assert "redis: ConnectionError" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_ready_names_a_password_redis_refused(
    project: Project, live_env: dict[str, str], tmp_path: Path
) -> None:
    """Without the password (or with a wrong one), the Redis URLs fail readiness, saying why:
    `make ready` prints it, /ready answers 503 and the app's log says it."""
    refused = {
        "REDIS_URL": without_password(live_env["REDIS_URL"]),
        "CELERY_BROKER_URL": live_env["CELERY_BROKER_URL"].replace(
            REDIS_PASSWORD, "not-" + REDIS_PASSWORD
        ),
    }
    env = {**live_env, **refused}
    result = project.make("ready", env=env, check=False)
    assert result.returncode != 0
    assert "database: ok" in result.stdout
    assert f"redis: {REFUSED.format('REDIS_URL')}" in result.stdout
    assert f"broker: {REFUSED.format('CELERY_BROKER_URL')}" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr

    port = free_port()
    serve = natively(compose_commands(project)["app"], project)
    app_env = clean_env(**env, HOST="127.0.0.1", PORT=str(port))
    with background(serve, project.path, app_env, tmp_path / "app.log") as log:
        base = f"http://127.0.0.1:{port}"
        wait_for("the app to serve /health", lambda: http(f"{base}/health")[0] == 200, [log])
        assert http(f"{base}/ready") == (
            503,
            {
                "status": "unavailable",
                "checks": {"database": "ok", "redis": "unavailable", "broker": "unavailable"},
            },
        )
    assert f"readiness: redis failed: {REFUSED.split(': ', 1)[1].format('REDIS_URL')}" in (
        log.read_text()
    )

    # With the password, both answer.
    answered = project.make("ready", env=live_env).stdout
    assert "redis: ok" in answered
    assert "broker: ok" in answered


def test_the_compose_redis_requires_its_password(project: Project, tmp_path: Path) -> None:
    """compose.yaml's redis command and health check, run natively: the password comes from
    the environment (never a command line), clients without it are refused, and the health
    check logs in with it."""
    redis_server_path, redis_cli_path = require("redis-server"), require("redis-cli")
    redis = yaml.safe_load((project.path / "compose.yaml").read_text())["services"]["redis"]
    values = {"REDIS_PASSWORD": REDIS_PASSWORD}
    environment = {name: interpolate(str(v), values) for name, v in redis["environment"].items()}
    assert environment == {"REDISCLI_AUTH": REDIS_PASSWORD}
    command = [interpolate(part, values) for part in redis["command"]]
    # What `docker inspect` shows: no password, only the variable the shell expands.
    assert REDIS_PASSWORD not in " ".join(command)
    assert "$REDISCLI_AUTH" in command[-1]
    check = redis["healthcheck"]["test"]
    assert check[0] == "CMD-SHELL"
    # Stand-ins for the image's entrypoint (which starts redis-server with the arguments it is
    # given, then modules) and for redis-cli, whose default port is the container's 6379.
    port, data = free_port(), tmp_path / "data"
    data.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_ins = {
        "docker-entrypoint.sh": f'[ "$1" = redis-server ] || exit 64\nshift\nexec '
        f"{redis_server_path} \"$@\" --port {port} --bind 127.0.0.1 --save '' "
        f"--appendonly no --dir {data}",
        "redis-cli": f'exec {redis_cli_path} -p {port} "$@"',
    }
    for name, body in stand_ins.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = clean_env(**environment)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    log = tmp_path / "redis.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=data, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for("the compose redis", lambda: redis_pong(port, REDIS_PASSWORD), [log])
        # The same process (sh and the entrypoint exec it), its command line free of secrets.
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode(errors="replace")
        assert "redis-server" in cmdline
        assert REDIS_PASSWORD not in cmdline
        assert not redis_pong(port)
        anonymous = run([redis_cli_path, "-p", str(port), "ping"], tmp_path, env=clean_env())
        assert "NOAUTH" in anonymous.stdout + anonymous.stderr

        def healthy(**auth: str) -> bool:
            check_env = {k: v for k, v in env.items() if k != "REDISCLI_AUTH"} | auth
            script = interpolate(check[1], values)
            result = run(["sh", "-c", script], tmp_path, env=check_env, check=False)
            return result.returncode == 0

        assert healthy(REDISCLI_AUTH=REDIS_PASSWORD)
        assert not healthy(REDISCLI_AUTH="wrong")
        assert not healthy()  # redis-cli exits 0 on NOAUTH: the check reads the answer
    finally:
        stop(server)


def test_integration_tests_pass_against_real_services(
    project: Project, live_env: dict[str, str]
) -> None:
    args = "PYTEST_ARGS=-m integration --no-cov -rs"
    out = project.make("test", args, env=live_env).stdout
    assert "3 passed" in out
    assert "skipped" not in out


def test_clients_reach_the_real_services(project: Project, live_env: dict[str, str]) -> None:
    require("psql")
    require("redis-cli")
    assert "42" in project.make("db-shell", env=live_env, input="select 40 + 2;\n").stdout
    assert "PONG" in project.make("redis-cli", env=live_env, input="ping\n").stdout


@pytest.mark.parametrize(
    ("target", "marker"),
    [("worker", "ready."), ("beat", "beat: Starting..."), ("flower", "Visit me at")],
)
def test_celery_targets_start_against_the_broker(
    project: Project, live_env: dict[str, str], tmp_path: Path, target: str, marker: str
) -> None:
    env = clean_env(**live_env, FLOWER_PORT=str(free_port()))
    with background(["make", target], project.path, env, tmp_path / f"{target}.log") as log:
        wait_for(f"make {target} to log {marker!r}", lambda: marker in log.read_text(), [log])


def test_the_compose_stack_runs_natively(
    project: Project, backing: tuple[Postgres, str], live_env: dict[str, str], tmp_path: Path
) -> None:
    """app, migrate, worker, beat and flower as compose.yaml runs them, with the environment it
    gives them, on real servers."""
    postgres, redis = backing
    commands = compose_commands(project)
    assert set(commands) == {"app", "migrate", "worker", "beat", "flower"}
    # compose.yaml's URLs, from .env's values, are exactly those that reach the real servers.
    redis_port, password = redis_parts(redis)
    dotenv = {
        "POSTGRES_USER": postgres.user,
        "POSTGRES_PASSWORD": postgres.password,
        "POSTGRES_DB": postgres.db,
        "REDIS_PASSWORD": password,
    }
    hosts = {"postgres:5432": f"127.0.0.1:{postgres.port}", "redis:6379": f"127.0.0.1:{redis_port}"}
    composed = compose_environment(project, dotenv, hosts)
    urls = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
    assert {name: composed[name] for name in urls} == {name: live_env[name] for name in urls}
    app_port, flower_port = free_port(), free_port()
    # Listening on loopback, on a free port, instead of the container's 0.0.0.0:8000.
    local = {"HOST": "127.0.0.1", "PORT": str(app_port), "LOG_JSON": "true"}
    env = clean_env(**(composed | local), FLOWER_BASIC_AUTH=live_env["FLOWER_BASIC_AUTH"])

    (project.path / "var").mkdir(exist_ok=True)  # the image's writable /app/var
    run(natively(commands["migrate"], project), project.path, env=env)
    assert postgres.query("select version_num from alembic_version") == "0001"

    with contextlib.ExitStack() as stack:
        logs = {}
        for name in ("app", "worker", "beat", "flower"):
            options = {"port": str(flower_port), "address": "127.0.0.1"} if name == "flower" else {}
            command = natively(commands[name], project, **options)
            logs[name] = stack.enter_context(
                background(command, project.path, env, tmp_path / f"{name}.log")
            )
        every_log = list(logs.values())
        base = f"http://127.0.0.1:{app_port}"

        ready = wait_for("/ready", lambda: http(f"{base}/ready")[0] == 200, every_log)
        assert ready
        assert http(f"{base}/ready")[1]["checks"] == {
            "database": "ok",
            "redis": "ok",
            "broker": "ok",
        }

        status, note = http(f"{base}/notes", {"text": "through the stack"})
        assert status == 201
        assert http(f"{base}/notes/{note['id']}") == (200, note)
        assert postgres.query("select text from notes where id = :v1", note["id"]) == note["text"]
        assert any('"request_id"' in line for line in logs["app"].read_text().splitlines())

        # A task sent through Redis, run by the worker, its result back through Redis.
        send = (
            f"from {PACKAGE}.worker import delete_expired_notes as task; "
            "print(task.apply_async(kwargs={'max_age_days': 0}).get(timeout=60))"
        )
        wait_for("the worker", lambda: "ready." in logs["worker"].read_text(), every_log)
        out = run([project.tool("python"), "-c", send], project.path, env=env)
        assert int(out.stdout.strip()) >= 1
        assert postgres.query("select count(*) from notes where id = :v1", note["id"]) == "0"
        assert "notes.delete_expired" in logs["worker"].read_text()

        # Flower: its API needs the credentials, then lists the worker.
        flower = f"http://127.0.0.1:{flower_port}"
        wait_for("flower", lambda: http(f"{flower}/healthcheck")[0] == 200, every_log)
        assert http(f"{flower}/api/workers")[0] == 401
        auth = live_env["FLOWER_BASIC_AUTH"]
        workers = wait_for(
            "flower to list the worker",
            lambda: http(f"{flower}/api/workers?refresh=1", auth=auth)[1],
            every_log,
        )
        assert any(name.startswith("celery@") for name in workers)
        wait_for("beat", lambda: "beat: Starting..." in logs["beat"].read_text(), every_log)
