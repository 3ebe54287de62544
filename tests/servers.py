"""Throwaway PostgreSQL and Redis servers on free loopback ports, for tests."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers import free_port, run, unavailable

# The Debian package that provides each command, for the skip message.
APT_PACKAGES = {
    "buildah": "buildah",
    "debootstrap": "debootstrap",
    "initdb": "postgresql",
    "pg_ctl": "postgresql",
    "postgres": "postgresql",
    "psql": "postgresql-client",
    "pg_isready": "postgresql-client",
    "redis-server": "redis-server",
    "redis-cli": "redis-tools",
}

# Debian's postgresql package keeps the server commands off PATH, in a versioned directory.
PG_LIB = Path("/usr/lib/postgresql")
PG_SERVER_COMMANDS = ("initdb", "pg_ctl", "postgres")

START_TIMEOUT = 30.0


def find_tool(tool: str) -> str | None:
    """The path of `tool`: on PATH, or for PostgreSQL's server commands in Debian's directory."""
    found = shutil.which(tool)
    if found is None and tool in PG_SERVER_COMMANDS and PG_LIB.is_dir():
        versions = sorted(
            (d for d in PG_LIB.iterdir() if d.name.isdigit()), key=lambda d: int(d.name)
        )
        for version in reversed(versions):
            if (version / "bin" / tool).is_file():
                return str(version / "bin" / tool)
    return found


def require(tool: str, package: str | None = None) -> str:
    """The path of `tool`; skip the test when it is missing (fail under CI)."""
    found = find_tool(tool)
    if found is None:
        package = package or APT_PACKAGES.get(tool, tool)
        unavailable(f"{tool} is not installed (apt install {package})")
    return found


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on `host:port`."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def _tail(path: Path, limit: int = 4000) -> str:
    """The end of a log file, or a note that there is none."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return f"({path} does not exist)"


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL server and the database its password user owns."""

    host: str
    port: int
    user: str
    password: str
    db: str
    data_dir: Path
    log: Path

    @property
    def url(self) -> str:
        """postgresql://user:password@127.0.0.1:port/db."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.db}"

    def query(self, sql: str, *values: object) -> str:
        """One query's unaligned result, as the password user; `:v1`, `:v2`… take `values`."""
        return psql(self.url, sql, *values).stdout.strip()


def psql(
    url: str, sql: str, *values: object, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `sql` through psql on `url`; `:v1`, `:v2`… take `values`. No psqlrc, no PG* variables."""
    bound = [f"--set=v{n}={value}" for n, value in enumerate(values, 1)]
    command = [require("psql"), "--no-psqlrc", "-tA", "--set=ON_ERROR_STOP=1", *bound, url]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    return run(command, Path.cwd(), env=env, check=check, input=sql)


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged account that runs the server when we are root (None when we are not)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    pytest.fail("running as root and neither a postgres nor a nobody user exists to run PostgreSQL")


def _hand_over(path: Path, account: pwd.struct_passwd | None) -> None:
    """Give `path` to `account`, and let it traverse every directory above `path`."""
    if account is None:
        return
    os.chown(path, account.pw_uid, account.pw_gid)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)  # search only, not listing


def _as(account: pwd.struct_passwd | None, command: list[str]) -> list[str]:
    """`command`, run as `account` when there is one."""
    if account is None:
        return command
    return ["runuser", "-u", account.pw_name, "--", *command]


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    """Run a setup command; fail the test with its output (and the server log) if it fails."""
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=START_TIMEOUT * 2,
        )
    except subprocess.TimeoutExpired as error:
        output = b"".join(o for o in (error.stdout, error.stderr) if isinstance(o, bytes))
        pytest.fail(f"{what}: timed out: {' '.join(command)}\n{output.decode(errors='replace')}")
    if result.returncode != 0:
        server_log = f"\n--- server log\n{_tail(log)}" if log is not None else ""
        pytest.fail(
            f"{what}: {' '.join(command)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}{server_log}"
        )


@contextlib.contextmanager
def postgres_server(base: Path, *, user: str = "app", db: str = "app") -> Iterator[Postgres]:
    """Start a throwaway PostgreSQL cluster in `base` on a free loopback port; always stop it.

    The yielded user owns `db` and logs in with a password over TCP (scram-sha-256).
    As root the server runs as the postgres (or nobody) account, in a directory of its own.
    """
    initdb, pg_ctl = require("initdb"), require("pg_ctl")
    psql = require("psql", "postgresql-client")
    account = _server_user()
    base.mkdir(parents=True, exist_ok=True)
    # Run as another account, the server keeps its files in a directory of their own: pytest
    # resets its base temp directory (where `base` usually is) to mode 0700 whenever a session
    # starts, and the suite starts rendered projects' pytest alongside, which would lock the
    # server's account out of its own data mid-test.
    own = Path(tempfile.mkdtemp(prefix="pg-")) if account is not None else None
    home = own or base
    data, log = home / "pgdata", home / "postgres.log"
    sockets = home / "pgsocket"
    # A Unix socket path must fit in 107 bytes: fall back to a short directory.
    short_sockets = len(str(sockets.resolve() / ".s.PGSQL.65535")) > 100
    if short_sockets:
        sockets = Path(tempfile.mkdtemp(prefix="pg-"))
    for directory in (data, sockets):
        directory.mkdir(mode=0o700, exist_ok=True)
        _hand_over(directory, account)
    log.touch()
    _hand_over(log, account)
    password = secrets.token_hex(16)
    port = free_port()
    try:
        _run(
            _as(account, [
                initdb, "--pgdata", str(data), "--username", "postgres", "--encoding", "UTF8",
                "--locale", "C", "--auth-local", "trust", "--auth-host", "scram-sha-256",
                "--no-sync", "--no-instructions",
            ]),
            "initdb",
        )  # fmt: skip
        settings = {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{sockets}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_wal_senders": "0",
            "wal_level": "minimal",
            "shared_buffers": "32MB",
            "logging_collector": "off",
        }
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))
        _run(
            _as(account, [
                pg_ctl, "start", "--pgdata", str(data), "--log", str(log), "--wait",
                "--timeout", str(int(START_TIMEOUT)),
            ]),
            "pg_ctl start",
            log,
        )  # fmt: skip
        _wait_for_postgres(sockets, port, log)
        _run(
            [psql, "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "--host", str(sockets),
             "--port", str(port), "--username", "postgres", "--dbname", "postgres",
             "--command", f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'",
             "--command", f'CREATE DATABASE "{db}" OWNER "{user}"'],
            "creating the test role and database",
            log,
        )  # fmt: skip
        yield Postgres("127.0.0.1", port, user, password, db, data, log)
    finally:
        _stop_postgres(account, pg_ctl, data)
        if short_sockets:
            shutil.rmtree(sockets, ignore_errors=True)
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)


def _wait_for_postgres(sockets: Path, port: int, log: Path) -> None:
    """Wait until the server accepts connections on its TCP port, or fail with its log."""
    isready = shutil.which("pg_isready")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if isready is not None:
            command = [isready, "--quiet", "--host", "127.0.0.1", "--port", str(port)]
            if subprocess.run(command, check=False, timeout=10).returncode == 0:
                return
        elif port_open(port):
            return
        time.sleep(0.1)
    pytest.fail(
        f"PostgreSQL did not accept connections on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s "
        f"(sockets in {sockets})\n--- server log\n{_tail(log)}"
    )


def _stop_postgres(account: pwd.struct_passwd | None, pg_ctl: str, data: Path) -> None:
    """Stop the server right away; kill its postmaster if pg_ctl cannot."""
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        return
    command = _as(account, [pg_ctl, "stop", "--pgdata", str(data), "--mode", "immediate", "--wait"])
    with contextlib.suppress(subprocess.SubprocessError):
        stopped = subprocess.run(command, capture_output=True, check=False, timeout=30)
        if stopped.returncode == 0:
            return
    with contextlib.suppress(OSError, ValueError, IndexError):
        os.kill(int(pid_file.read_text(encoding="utf-8").split()[0]), 9)


@contextlib.contextmanager
def redis_server(base: Path, *, password: str | None = None) -> Iterator[str]:
    """Start a throwaway redis-server (no persistence) on a free loopback port; always stop it.

    Yields redis://127.0.0.1:PORT/0, or with `password` redis://:PASSWORD@127.0.0.1:PORT/0 for
    a server that requires it (`requirepass`, read as configuration from standard input, as the
    compose Redis reads it: never on the command line).
    """
    redis = require("redis-server")
    base.mkdir(parents=True, exist_ok=True)
    log = base / "redis.log"
    port = free_port()
    command = [
        redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--daemonize", "no", "--dir", str(base), "--logfile", "",
    ]  # fmt: skip
    if password is not None:
        command.insert(1, "-")  # the first (or last) argument: configuration on stdin
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL if password is None else subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        if process.stdin is not None and password is not None:
            quoted = password.replace("\\", "\\\\").replace('"', '\\"')
            process.stdin.write(f'requirepass "{quoted}"\n'.encode())
            process.stdin.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not redis_pong(port, password):
            if process.poll() is not None:
                pytest.fail(
                    f"redis-server exited {process.returncode} before answering PING on port "
                    f"{port}\n--- log\n{_tail(log)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"redis-server did not answer PING on 127.0.0.1:{port} within "
                    f"{START_TIMEOUT:.0f} s\n--- log\n{_tail(log)}"
                )
            time.sleep(0.05)
        auth = "" if password is None else f":{urllib.parse.quote(password, safe='')}@"
        yield f"redis://{auth}127.0.0.1:{port}/0"
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Terminate `process`; kill it when it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def redis_pong(port: int, password: str | None = None) -> bool:
    """True when Redis on `port` answers PING (after AUTH with `password`)."""
    commands = [["PING"]] if password is None else [["AUTH", password], ["PING"]]
    request = b"".join(_resp(command) for command in commands)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(request)
            answer = b""
            while answer.count(b"\r\n") < len(commands):
                chunk = sock.recv(256)
                if not chunk:
                    break
                answer += chunk
            return answer.split(b"\r\n")[len(commands) - 1] == b"+PONG"
    except OSError:
        return False


def _resp(command: list[str]) -> bytes:
    """`command` in Redis's protocol (RESP): an array of bulk strings, safe for any password."""
    parts = [f"*{len(command)}\r\n".encode()]
    for word in command:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


# How long a server or app started by a test may take to answer.
STARTUP = 60.0


def wait_for(
    what: str, probe: Callable[[], Any], logs: list[Path], timeout: float = STARTUP
) -> Any:
    """Poll `probe` until it returns a truthy value; fail with the logs when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if result := probe():
                return result
        time.sleep(0.3)
    tails = "\n".join(f"--- {log}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")


def http(url: str, data: object = None, auth: str | None = None) -> tuple[int, Any]:
    """Status and body of a GET (or a POST of `data` as JSON)."""
    request = urllib.request.Request(url)  # noqa: S310 # http://127.0.0.1 only
    if data is not None:
        request.data = json.dumps(data).encode()
        request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 # loopback only
            return answer.status, parse(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, parse(error.read())


def parse(body: bytes) -> Any:
    """JSON when the body is JSON, else its text."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
