"""Run a command in a container's root file system as Kubernetes would with a restrictive
securityContext: `unshare --mount python read_only.py SPEC`, as root (tests/images.py does).

SPEC is JSON: {"root": the container's mounted root (`buildah mount`), "volumes": {path in the
container: host directory} (the emptyDir mounts), "user", "group", "groups" (numeric),
"env", "workdir", "command"}. In the private mount namespace unshare gave it, this:
- binds the root onto itself, mounts a /dev with only the usual device nodes and a /proc, binds
  each volume at its path, then remounts the root read-only (readOnlyRootFilesystem: true): only
  the volumes and /dev's nodes stay writable;
- changes root to it and into `workdir`;
- drops every capability from the bounding set (capabilities: drop: [ALL]), takes the groups,
  gid and uid (runAsUser, runAsGroup, fsGroup), which clears the capabilities root had, and sets
  no_new_privs (allowPrivilegeEscalation: false);
- executes `command` with exactly `env`, searched on env's PATH: the process keeps this one's pid,
  so the caller can read /proc/PID/status from outside.
The mounts vanish with the namespace when the process ends; the container is left as it was.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


def mount(*args: str) -> None:
    """Run mount(8) with `args`; any failure ends the run with its message."""
    subprocess.run(["mount", *args], check=True)


def prctl(option: int, value: int) -> None:
    """prctl(2) with one argument; an error ends the run."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl({option}, {value}): {os.strerror(error)}")


def inside(root: Path, path: str) -> Path:
    """`path` of the container, as seen from outside its root."""
    return root / path.lstrip("/")


def prepare(root: Path, volumes: dict[str, str]) -> None:
    """The container's mounts, its root read-only last (mount points are made while it is not)."""
    mount("--bind", str(root), str(root))
    dev = inside(root, "/dev")
    dev.mkdir(exist_ok=True)
    mount("-t", "tmpfs", "-o", "nosuid,noexec,mode=755,size=64k", "tmpfs", str(dev))
    for name in DEVICES:
        (dev / name).touch()
        mount("--bind", f"/dev/{name}", str(dev / name))
    inside(root, "/proc").mkdir(exist_ok=True)
    mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", str(inside(root, "/proc")))
    for path, source in volumes.items():
        target = inside(root, path)
        target.mkdir(parents=True, exist_ok=True)
        mount("--bind", source, str(target))
    mount("-o", "remount,bind,ro", str(root))


def main() -> None:
    """Set the container up as SPEC (the one argument) says, then become its command."""
    spec = json.loads(sys.argv[1])
    root = Path(spec["root"])
    prepare(root, spec["volumes"])
    last_cap = int(Path("/proc/sys/kernel/cap_last_cap").read_text(encoding="utf-8"))
    os.chroot(root)
    os.chdir(spec["workdir"])
    for capability in range(last_cap + 1):
        prctl(PR_CAPBSET_DROP, capability)
    os.setgroups(spec["groups"])
    os.setresgid(spec["group"], spec["group"], spec["group"])
    os.setresuid(spec["user"], spec["user"], spec["user"])
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    command = spec["command"]
    os.execvpe(command[0], command, spec["env"])  # noqa: S606 # the container's own command


if __name__ == "__main__":
    main()
