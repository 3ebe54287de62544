"""The test infrastructure itself: throwaway servers and container images really work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from plumbum import local

import images
from helpers import BIN, dev_tool, free_port
from project import prompt_environment
from servers import port_open, postgres_server, psql, redis_server, require


def test_free_port_can_be_bound() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    assert not port_open(port)


def test_what_is_missing_skips_outside_ci_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no-such-tool is not installed \(apt install"):
        require("no-such-tool")
    with pytest.raises(pytest.skip.Exception, match=r"no-such-tool is not installed \(`make dev"):
        dev_tool("no-such-tool")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require("no-such-tool")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        dev_tool("no-such-tool")
    assert require("sh")
    assert dev_tool("ruff").endswith("/ruff")


def test_postgres_serves_its_password_user_and_stops(tmp_path: Path) -> None:
    with postgres_server(tmp_path) as pg:
        assert pg.url == f"postgresql://app:{pg.password}@127.0.0.1:{pg.port}/app"
        assert pg.query("select current_user, current_database(), :v1", 1) == "app|app|1"
        # The password is checked: TCP connections are not trusted.
        wrong = psql(pg.url.replace(pg.password, "wrong"), "select 1", check=False)
        assert wrong.returncode != 0
        assert "password authentication failed" in wrong.stderr
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    assert not port_open(pg.port)
    # Gone, or a zombie that init has yet to reap: either way it no longer runs.
    stat = Path(f"/proc/{postmaster}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_postgres_stops_when_the_body_raises(tmp_path: Path) -> None:
    ports: list[int] = []

    def crash() -> None:
        with postgres_server(tmp_path) as pg:
            ports.append(pg.port)
            assert port_open(pg.port)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash()
    assert ports
    assert not port_open(ports[0])


def test_redis_answers_ping_and_stops(tmp_path: Path) -> None:
    with redis_server(tmp_path) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert url == f"redis://127.0.0.1:{port}/0"
        result = subprocess.run(
            [require("redis-cli"), "-u", url, "ping"], capture_output=True, text=True, check=False
        )
        assert result.stdout.strip() == "PONG", result.stderr
    assert not port_open(port)
    assert not list(tmp_path.glob("*.rdb"))  # no persistence


def test_redis_stops_when_the_body_raises(tmp_path: Path) -> None:
    urls: list[str] = []

    def crash() -> None:
        with redis_server(tmp_path) as url:
            urls.append(url)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash()
    assert urls
    assert not port_open(int(urls[0].rsplit(":", 1)[1].split("/")[0]))


def test_storage_driver_is_forced_by_the_environment_or_probed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_BUILDAH_STORAGE", "vfs")
    images.storage.cache_clear()
    try:
        assert images.storage() == "vfs"
        monkeypatch.delenv("TEST_BUILDAH_STORAGE")
        images.storage.cache_clear()
        if not shutil.which("buildah"):
            assert images.storage() == "vfs"
            return
        assert images.storage() in {"overlay", "vfs"}
        # Other workers' builds come and go in the same storage: look for the probe's own name.
        names = [*images._buildah_command("overlay"), "containers", "--all", "--format"]
        listed = subprocess.run(
            [*names, "{{.ContainerName}}"], capture_output=True, text=True, check=False
        ).stdout
        assert f"copier-template-tests-probe-{os.getpid()}" not in listed
    finally:
        images.storage.cache_clear()


def test_no_stand_in_for_a_python_debian_does_not_ship() -> None:
    with pytest.raises(ValueError, match=r"no Debian suite ships Python 3\.12"):
        images.stand_in_python_image("3.12")


# As the template's Dockerfile takes uv: a stage named after uv's image, copied from in one
# stage and bind-mounted in another.
TWO_STAGES = """\
FROM {uv_image} AS uv

FROM python:3.11-slim AS builder
COPY --from=uv /uv /bin/uv
RUN --mount=type=cache,target=/root/.cache/uv \\
    UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy uv venv /opt/venv \\
    && uv pip install --python /opt/venv/bin/python iniconfig==2.0.0

FROM python:3.11-slim
COPY --from=builder /opt/venv /opt/venv
RUN --mount=type=bind,from=uv,source=/uv,target=/bin/uv uv --version > /opt/uv-version
USER 10001
"""


@pytest.mark.slow
def test_two_stage_image_with_uv_builds_and_runs(tmp_path: Path) -> None:
    images.require_buildah()
    uv_version = subprocess.run(
        [Path(sys.executable).parent / "uv", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert images.stand_in_python_image("3.11") == "docker.io/library/python:3.11-slim"
    uv_image = images.stand_in_uv_image(uv_version)
    assert uv_image == f"ghcr.io/astral-sh/uv:{uv_version}"
    (tmp_path / "Dockerfile").write_text(TWO_STAGES.format(uv_image=uv_image), encoding="utf-8")
    tag = f"localhost/copier-template-tests-infra:{os.getpid()}"
    try:
        images.build(tmp_path, tag)
        # The venv made in the builder runs in the final stage, as the image's USER; the
        # package came from PyPI inside the build (the host's CA bundle is trusted there).
        code = "import os, sys, iniconfig; print(os.getuid(), sys.prefix, sys.version_info[:2])"
        result = images.run_in(tag, ["/opt/venv/bin/python", "-c", code])
        assert result.stdout.strip() == "10001 /opt/venv (3, 11)"
        # uv ran from the mount and did not stay in the image.
        assert images.run_in(tag, ["cat", "/opt/uv-version"]).stdout.split()[:2] == [
            "uv", uv_version,
        ]  # fmt: skip
        assert images.run_in(tag, ["ls", "/bin/uv"], check=False).returncode != 0
        # A server in the image answers on the host's loopback, and stops with the block.
        port = free_port()
        server = ["/opt/venv/bin/python", "-m", "http.server", "--bind", "127.0.0.1", str(port)]
        with images.running_in(tag, server, port=port):
            assert port_open(port)
        assert not port_open(port)
        config = images.inspect_image(tag)
        assert config is not None
        assert config["Docker"]["config"]["User"] == "10001"
        base = images.image_size("docker.io/library/python:3.11-slim")
        assert base < images.image_size(tag) < base + 20_000_000
    finally:
        images.remove_image(tag)
    assert images.inspect_image(tag) is None


def test_setup_renders_run_in_a_prompts_environment() -> None:
    """Copier's tasks use plumbum's copy of the environment: that is the one replaced."""
    with local.env(UV_PYTHON="/nonexistent/python", MAKEFLAGS="-j9"):
        with prompt_environment():
            assert "UV_PYTHON" not in local.env
            assert "MAKEFLAGS" not in local.env
            assert local.env["PATH"].startswith(f"{BIN}{os.pathsep}")
        assert local.env["UV_PYTHON"] == "/nonexistent/python"
