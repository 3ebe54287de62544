"""Build and run container images with buildah (no Docker engine, no registry).

The base images a Dockerfile names cannot be pulled here, so local stand-ins are created under
the exact names: python:<version>-slim from a debootstrap root filesystem, and uv's image from
the uv wheel on PyPI. Everything uses overlay storage where this machine can mount it, else vfs
(see storage()), chroot isolation and `--pull=never`; RUN steps and containers share the host's
network.

`buildah run` has no --read-only (its root file system is always writable), so
read_only_container() runs a container as a Kubernetes pod's securityContext says another
way: `buildah mount` gives the container's root file system; tests/tools/read_only.py,
started by `unshare --mount` in a private mount namespace (nothing it mounts reaches the host),
binds that root onto itself, mounts /dev (the usual nodes) and /proc, binds a fresh directory at
each emptyDir path, remounts the root read-only, changes root into it, drops every capability,
takes the pod's uid, gid and groups, sets no_new_privs and executes the command. A write outside
the emptyDir paths then fails with EROFS, as in the pod.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from helpers import unavailable
from servers import port_open, require, stop


@functools.cache
def storage() -> str:
    """The storage driver: TEST_BUILDAH_STORAGE if set, else overlay when it mounts here, else vfs.

    vfs works anywhere but copies the whole root filesystem for each layer and container, so
    even a fully cached build of the service takes about 40 s; overlay (what Docker and podman
    use) takes 4 s for that, but cannot mount everywhere (e.g. on an overlay root). The probe
    runs once per process and leaves no container behind.
    """
    chosen = os.environ.get("TEST_BUILDAH_STORAGE")
    if chosen:
        return chosen
    if shutil.which("buildah") is None:
        return "vfs"
    overlay = _buildah_command("overlay")

    def probe(*args: str) -> bool:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(
                [*overlay, *args], capture_output=True, text=True, check=False,
                stdin=subprocess.DEVNULL, timeout=120,
            )  # fmt: skip
            return result.returncode == 0
        return False

    container = f"copier-template-tests-probe-{os.getpid()}"
    if not probe("from", "--name", container, "scratch"):
        return "vfs"
    try:
        return "overlay" if probe("mount", container) else "vfs"
    finally:
        probe("rm", container)


def _buildah_command(driver: str) -> list[str]:
    """buildah with storage `driver`; each driver but vfs has its own storage root."""
    command = ["buildah", "--storage-driver", driver]
    if driver != "vfs":
        command += [
            f"--root=/var/lib/containers/storage-{driver}",
            f"--runroot=/run/containers/storage-{driver}",
        ]
    return command


# Debian suites by the Python version they ship as python3 (none ships 3.12 or 3.14).
PYTHON_SUITES = {"3.11": "bookworm", "3.13": "trixie"}
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ("python3", "python3-venv", "ca-certificates")

# Bump when the stand-ins change: an image built by another recipe is rebuilt.
RECIPE = "1"
RECIPE_LABEL = "copier-template-tests.recipe"

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Like debian:*-slim, which the python images build on: no docs, man pages or translations.
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
"""
TRIMMED = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/debconf",
    "var/log",
)


def cache_dir() -> Path:
    """Where the root filesystems and uv binaries are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    path = Path(base) / "copier-template-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def require_buildah() -> None:
    """Skip the test unless buildah and debootstrap can run here (as root); fail under CI."""
    require("buildah")
    require("debootstrap")
    if os.geteuid() != 0:
        unavailable("building images needs root here (debootstrap, buildah's storage)")


def buildah(
    *args: str, check: bool = True, timeout: float = 600, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run buildah (storage() driver) on ARGS; fail the test with its output if it fails.

    `env` adds to the environment, e.g. TMPDIR: buildah keeps RUN cache mounts under it.
    """
    command = [*_buildah_command(storage()), *args]
    return _run(command, check=check, timeout=timeout, env=env)


def _run(
    command: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 600,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output, and fail the test with it when `check` fails."""
    try:
        result = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            env={**os.environ, **env} if env else None,
        )
    except subprocess.TimeoutExpired as error:
        output = b"".join(o for o in (error.stdout, error.stderr) if isinstance(o, bytes))
        pytest.fail(
            f"{' '.join(command)} timed out after {timeout:.0f} s\n"
            f"{output.decode(errors='replace')[-8000:]}"
        )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-8000:]}\n--- stderr\n{result.stderr[-8000:]}"
        )
    return result


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """Hold an exclusive lock across processes (pytest-xdist workers, parallel runs)."""
    with (cache_dir() / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def inspect_image(tag: str) -> dict[str, Any] | None:
    """`buildah inspect` of image `tag` (its Docker config is under ["Docker"]["config"])."""
    result = buildah("inspect", "--type", "image", tag, check=False)
    if result.returncode != 0:
        return None
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _current(tag: str) -> bool:
    """True when image `tag` exists and was made by this RECIPE."""
    data = inspect_image(tag)
    labels = ((data or {}).get("OCIv1", {}).get("config") or {}).get("Labels") or {}
    return bool(labels.get(RECIPE_LABEL) == RECIPE)


def stand_in_python_image(python_version: str) -> str:
    """A local docker.io/library/python:<version>-slim, built once from Debian; its name.

    Debian's interpreter stays in /usr/bin; /usr/local/bin/python<version>, python3 and python
    link to it as in the real image, so a virtualenv made in one stage runs in another.
    """
    suite = PYTHON_SUITES.get(python_version)
    if suite is None:
        supported = ", ".join(f"{v} ({s})" for v, s in PYTHON_SUITES.items())
        raise ValueError(
            f"no Debian suite ships Python {python_version} as python3, so there is no stand-in "
            f"for python:{python_version}-slim; stand-ins exist for {supported}"
        )

    def fill(container: str) -> list[str]:
        buildah("add", container, str(_rootfs_tarball(suite)), "/")
        _finish_python_rootfs(container, python_version)
        return [
            "--env", "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--env", "LANG=C.UTF-8",
            "--env", f"SSL_CERT_FILE={CA_BUNDLE}",
            "--cmd", '["python3"]',
        ]  # fmt: skip

    return _stand_in(f"docker.io/library/python:{python_version}-slim", fill)


def _stand_in(tag: str, fill: Callable[[str], list[str]]) -> str:
    """Build image `tag` from scratch once (cached, one builder at a time); return `tag`.

    `fill(container)` puts the files in and returns its `buildah config` options.
    """
    require_buildah()
    with _locked(tag.rsplit("/", 1)[-1]):
        if _current(tag):
            return tag
        container = buildah("from", "scratch").stdout.strip()
        try:
            options = fill(container)
            buildah("config", *options, "--label", f"{RECIPE_LABEL}={RECIPE}", container)
            buildah("commit", "--quiet", "--format", "docker", container, tag)
        finally:
            buildah("rm", container, check=False)
    return tag


def _finish_python_rootfs(container: str, python_version: str) -> None:
    """Make the Debian root filesystem in `container` look like the python image."""
    root = Path(buildah("mount", container).stdout.strip())
    try:
        interpreter = root / "usr" / "bin" / f"python{python_version}"
        if not interpreter.exists():
            pytest.fail(f"the Debian root filesystem has no /usr/bin/python{python_version}")
        local_bin = root / "usr" / "local" / "bin"
        local_bin.mkdir(parents=True, exist_ok=True)
        for name in (f"python{python_version}", "python3", "python"):
            link = local_bin / name
            link.unlink(missing_ok=True)
            link.symlink_to(f"/usr/bin/python{python_version}")
        # The real image's interpreter is not Debian's: pip and `uv pip --system` may install.
        (root / "usr" / "lib" / f"python{python_version}" / "EXTERNALLY-MANAGED").unlink(
            missing_ok=True
        )
        # This network has its own certificate authority: trust the host's bundle, and keep
        # it when a later apt-get install runs update-ca-certificates.
        host_bundle = Path(os.environ.get("SSL_CERT_FILE") or CA_BUNDLE)
        bundle = root / CA_BUNDLE.lstrip("/")
        bundle.parent.mkdir(parents=True, exist_ok=True)
        bundle.unlink(missing_ok=True)
        shutil.copyfile(host_bundle, bundle)
        local_ca = root / "usr" / "local" / "share" / "ca-certificates"
        local_ca.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(host_bundle, local_ca / "host-ca-bundle.crt")
    finally:
        buildah("umount", container, check=False)


def _rootfs_tarball(suite: str) -> Path:
    """A cached tarball of `debootstrap --variant=minbase` for `suite` with PACKAGES."""
    key = hashlib.sha256(f"{DEBIAN_MIRROR} {PACKAGES} {DPKG_EXCLUDES}".encode()).hexdigest()
    tarball = cache_dir() / f"rootfs-{suite}-{key[:12]}.tar"
    if tarball.exists():
        return tarball
    work = Path(tempfile.mkdtemp(prefix=f"rootfs-{suite}-", dir=cache_dir()))
    rootfs = work / "rootfs"
    try:
        (rootfs / "etc" / "dpkg" / "dpkg.cfg.d").mkdir(parents=True)
        (rootfs / "etc" / "dpkg" / "dpkg.cfg.d" / "docker-slim").write_text(DPKG_EXCLUDES)
        _run(
            [
                "debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
                suite, str(rootfs), DEBIAN_MIRROR,
            ],
            timeout=1200,
        )  # fmt: skip
        for path in TRIMMED:
            shutil.rmtree(rootfs / path, ignore_errors=True)
            (rootfs / path).mkdir(parents=True, exist_ok=True)
        partial = work / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."])
        partial.replace(tarball)
    finally:
        _unmount_under(rootfs)
        shutil.rmtree(work, ignore_errors=True)
    return tarball


def _unmount_under(path: Path) -> None:
    """Unmount whatever a failed debootstrap left mounted under `path` (/proc, /sys)."""
    prefix = f"{path.resolve()}/"
    mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], check=False, capture_output=True)


def stand_in_uv_image(uv_version: str) -> str:
    """A local ghcr.io/astral-sh/uv:<version>: /uv and /uvx from that uv wheel; its name."""

    def fill(container: str) -> list[str]:
        binaries = _uv_binaries(uv_version)
        for name in ("uv", "uvx"):
            buildah("copy", "--chmod", "0755", container, str(binaries / name), f"/{name}")
        return ["--entrypoint", '["/uv"]']

    return _stand_in(f"ghcr.io/astral-sh/uv:{uv_version}", fill)


def _uv_version(uv: Path) -> str | None:
    """The version `uv --version` reports, or None when it does not run."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        output = subprocess.run(
            [str(uv), "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
        return output.split()[1]
    return None


def _uv_binaries(uv_version: str) -> Path:
    """A cached directory with the uv and uvx binaries of `uv_version` (from its PyPI wheel)."""
    target = cache_dir() / f"uv-{uv_version}"
    if (target / "uv").exists() and (target / "uvx").exists():
        return target
    here = Path(sys.executable).parent  # the dev environment's pinned uv
    work = Path(tempfile.mkdtemp(prefix=f"uv-{uv_version}-", dir=cache_dir()))
    try:
        if _uv_version(here / "uv") == uv_version and (here / "uvx").exists():
            source = here
        else:
            uv = here / "uv" if (here / "uv").exists() else Path(require("uv", "uv (pip)"))
            command = [str(uv), "pip", "install", "--quiet", "--no-deps", "--target"]
            _run([*command, str(work / "wheel"), f"uv=={uv_version}"], timeout=300)
            source = work / "wheel" / "bin"
        (work / "bin").mkdir()
        for name in ("uv", "uvx"):
            shutil.copy2(source / name, work / "bin" / name)
        if _uv_version(work / "bin" / "uv") != uv_version:
            pytest.fail(f"the uv wheel {uv_version} did not give a uv that reports {uv_version}")
        with contextlib.suppress(OSError):  # another process was first: theirs is as good
            (work / "bin").rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def build(
    context: Path,
    tag: str,
    *extra: str,
    check: bool = True,
    timeout: float = 1800,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`buildah bud` the Dockerfile in `context` as `tag` (Docker format, layer cache on).

    `extra` goes before the context, e.g. "--file", "Containerfile", "--build-arg", "X=1".
    Base images must exist locally (stand_in_python_image, stand_in_uv_image): nothing is pulled.
    """
    command = [
        "bud", "--isolation", "chroot", "--pull=never", "--layers", "--force-rm",
        "--format", "docker", "--tag", tag, *extra, str(context),
    ]  # fmt: skip
    return buildah(*command, check=check, timeout=timeout, env=env)


def cached_steps(output: str) -> dict[str, bool]:
    """Each step of a build's output, and whether buildah took it from the layer cache."""
    steps: dict[str, bool] = {}
    step = ""
    for line in output.splitlines():
        if " STEP " in line:
            step = line.split(": ", 1)[1]
            steps[step] = False
        elif line.startswith("--> Using cache") and step:
            steps[step] = True
    return steps


@contextlib.contextmanager
def container_of(tag: str) -> Iterator[str]:
    """A working container from image `tag`, removed afterwards; yields its name."""
    name = buildah("from", "--pull=never", "--quiet", tag).stdout.strip()
    try:
        yield name
    finally:
        buildah("rm", name, check=False)


def run_command(
    container: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    workdir: str | None = None,
) -> list[str]:
    """The `buildah run` command line for `command` in `container` (for subprocess.Popen too).

    It runs with the image's USER, WORKDIR and ENV unless overridden, and the host's network.
    """
    options = [f"--env={key}={value}" for key, value in (env or {}).items()]
    if user is not None:
        options.append(f"--user={user}")
    if workdir is not None:
        options.append(f"--workingdir={workdir}")
    prefix = _buildah_command(storage())
    return [*prefix, "run", "--isolation", "chroot", *options, container, "--", *command]


def run_in(
    tag: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    workdir: str | None = None,
    check: bool = True,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run `command` in a fresh container of image `tag` (as the image's USER), then remove it."""
    with container_of(tag) as container:
        line = run_command(container, command, env=env, user=user, workdir=workdir)
        return _run(line, check=check, timeout=timeout)


@contextlib.contextmanager
def running_in(
    tag: str,
    command: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    timeout: float = 60,
) -> Iterator[subprocess.Popen[str]]:
    """Start `command` (a server) in a container of `tag`; wait until it listens on `port`.

    The container shares the host's network: pass the free loopback `port` it should use
    (servers.free_port). The server is stopped and the container removed afterwards.
    """
    with container_of(tag) as container:
        line = run_command(container, command, env=env, user=user)
        with _serving(line, f"{' '.join(command)} in {tag}", port, timeout) as process:
            yield process


@contextlib.contextmanager
def _serving(
    line: Sequence[str], what: str, port: int, timeout: float
) -> Iterator[subprocess.Popen[str]]:
    """Start the server command `line`; wait until it listens on `port`; stop it afterwards."""
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(
            line, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, text=True
        )
        try:
            deadline = time.monotonic() + timeout
            while not port_open(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    state = "exited" if process.returncode is not None else "is not listening"
                    pytest.fail(
                        f"{what} {state} (port {port}, {timeout:.0f} s)"
                        f"\n--- output\n{output.read()[-8000:]}"
                    )
                time.sleep(0.1)
            yield process
        finally:
            stop(process, timeout=20)


READ_ONLY = Path(__file__).resolve().parent / "tools" / "read_only.py"


class ReadOnlyContainer:
    """A container whose processes run as a pod's securityContext says (see the module's
    docstring): a read-only root, writable only at its emptyDir `volumes`, as `user`."""

    def __init__(
        self,
        root: Path,
        volumes: Mapping[str, Path],
        *,
        user: int,
        group: int,
        groups: Sequence[int],
        env: Mapping[str, str],
        workdir: str,
    ) -> None:
        self.root = root
        self.volumes = dict(volumes)
        self.user, self.group, self.groups = user, group, list(groups)
        self.env = dict(env)
        self.workdir = workdir

    def command(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
        """The host's command line that runs `command` in the container (with `env` added)."""
        spec = {
            "root": str(self.root),
            "volumes": {path: str(source) for path, source in self.volumes.items()},
            "user": self.user,
            "group": self.group,
            "groups": self.groups,
            "env": {**self.env, **(env or {})},
            "workdir": self.workdir,
            "command": list(command),
        }
        unshare = require("unshare", "util-linux")
        return [unshare, "--mount", "--propagation", "private", sys.executable, str(READ_ONLY),
                json.dumps(spec)]  # fmt: skip

    def run(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run `command` in the container (like `kubectl exec`) and wait for it."""
        return _run(self.command(command, env), check=check, timeout=timeout)

    @contextlib.contextmanager
    def running(
        self,
        command: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
    ) -> Iterator[subprocess.Popen[str]]:
        """Start the server `command` in the container; wait until it listens on `port`. The
        process is the command itself (read_only.py executes it): its pid is the server's."""
        line = self.command(command, env)
        with _serving(line, f"{' '.join(command)} (read-only root)", port, timeout) as process:
            yield process


@contextlib.contextmanager
def read_only_container(
    tag: str,
    *,
    user: int,
    group: int,
    groups: Sequence[int] = (),
    writable: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[ReadOnlyContainer]:
    """A container of image `tag` run as a pod would be with `readOnlyRootFilesystem: true`, uid
    `user`, gid `group`, supplementary `groups` (fsGroup…) and an emptyDir at each `writable`
    path; its environment is the image's and `env`, its working directory the image's. The
    emptyDir directories are fresh (mode 2777, group fsGroup when given, as kubelet makes
    them); they and the container are removed afterwards."""
    require_buildah()
    config = (inspect_image(tag) or {}).get("Docker", {}).get("config") or {}
    image_env = dict(entry.split("=", 1) for entry in config.get("Env") or [])
    with container_of(tag) as container, tempfile.TemporaryDirectory() as scratch:
        root = Path(buildah("mount", container).stdout.strip())
        volumes: dict[str, Path] = {}
        for index, path in enumerate(writable):
            volumes[path] = Path(scratch) / str(index)
            volumes[path].mkdir()
            if groups:
                os.chown(volumes[path], -1, groups[0])
            volumes[path].chmod(0o2777)
        try:
            yield ReadOnlyContainer(
                root,
                volumes,
                user=user,
                group=group,
                groups=groups,
                env={**image_env, **(env or {})},
                workdir=config.get("WorkingDir") or "/",
            )
        finally:
            buildah("umount", container, check=False)


def image_size(tag: str) -> int:
    """Size in bytes of image `tag`: its layers uncompressed, as `docker image inspect` Size."""
    data = inspect_image(tag)
    if data is None:
        pytest.fail(f"there is no image {tag}")
    return sum(int(layer["size"]) for layer in json.loads(data["Manifest"])["layers"])


def remove_image(tag: str) -> None:
    """Remove image `tag` if it exists (its cached build layers stay for the next build)."""
    buildah("rmi", "--force", tag, check=False)
