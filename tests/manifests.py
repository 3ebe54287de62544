"""An overlay of a rendered project's deploy/k8s, built as `make k8s-build` builds it, without
its env files: the Kubernetes tests and the image's run with the manifests' security context."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from helpers import dev_tool, run
from project import Project

# The image as `make k8s-build REGISTRY=... TAG=...` names it.
REGISTRY = "registry.example.com/team"
TAG = "1.2.0"


def build_overlay(
    project: Project, overlay: str, dest: Path, edit: Callable[[Path], None] | None = None
) -> Path:
    """Build an overlay as `make k8s-build` does, in a copy of deploy/k8s; return the file.

    The copy has each .example env file as the real one, and a wrapper kustomization next to
    the overlays that sets the image (Kustomize refuses a resource by an absolute path);
    `edit` changes the copy first.
    """
    k8s = dest / f"k8s-{overlay}"
    shutil.copytree(project.path / "deploy" / "k8s", k8s)
    if edit is not None:
        edit(k8s)
    for name in ("config.env", "secret.env"):
        folder = k8s / "overlays" / overlay
        shutil.copyfile(folder / f"{name}.example", folder / name)
    wrapper = k8s / "build"
    wrapper.mkdir()
    image = {"name": image_name(project), "newName": f"{REGISTRY}/{image_name(project)}"}
    kustomization = {"resources": [f"../overlays/{overlay}"], "images": [{**image, "newTag": TAG}]}
    (wrapper / "kustomization.yaml").write_text(json.dumps(kustomization), encoding="utf-8")
    built = run([dev_tool("kubectl"), "kustomize", str(wrapper)], dest).stdout
    path = dest / f"{overlay}.yaml"
    path.write_text(built, encoding="utf-8")
    return path


def image_name(project: Project) -> str:
    """The image `make docker-build` builds: the Makefile's IMAGE."""
    makefile = (project.path / "Makefile").read_text(encoding="utf-8")
    [image] = re.findall(r"^IMAGE \?= (\S+)$", makefile, re.MULTILINE)
    return str(image)
