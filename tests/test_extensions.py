"""The Jinja extension behind copier.yml's defaults and validators."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from helpers import ROOT, git, load_extension
from project import Renderer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


context = load_extension()


@pytest.mark.parametrize(
    "value",
    ["plain", 'quote " and \\ backslash', "tab\tnew\nline", "del\x7fchar", "ünï 日本 🚀", "'"],
)
def test_toml_str_round_trips(value: str) -> None:
    assert tomllib.loads(f"key = {context.toml_str(value)}")["key"] == value


def test_toml_str_is_json_compatible() -> None:
    assert json.loads(context.toml_str('a"b')) == 'a"b'


def test_reserved_names_cover_keywords_stdlib_and_tests() -> None:
    names = context.reserved_package_names()
    assert {"class", "logging", "json", "tests", "asyncio"} <= set(names)
    assert not any(name.startswith("_") for name in names)
    assert "acme_billing" not in names


def test_reserved_names_cover_the_project_dependencies() -> None:
    assert {"pytest", "mypy", "yaml", "pre_commit", "ruff"} <= set(context.reserved_package_names())
    projects = context.reserved_project_names()
    assert {"pytest", "pre-commit", "pytest-cov", "uv", "hatchling"} <= set(projects)
    assert "acme-billing" not in projects


def test_git_config_without_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context.shutil, "which", lambda _name: None)
    assert context.git_config("user.name") == ""


def test_git_config_reads_the_global_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Grace Hopper\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.chdir(tmp_path)
    assert context.git_config("user.name") == "Grace Hopper"
    assert context.git_config("user.nonexistent") == ""


def test_template_tools_are_the_pinned_render_tools() -> None:
    tools = context.template_tools()
    assert set(tools) == {"copier", "copier-template-extensions", "jinja2-time"}
    assert tools["copier"].split(".")[0] == "9"


def test_template_tools_refuses_a_missing_pin(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('dev = ["copier==9.0.0", "copier-template-extensions>=0.3"]\n')
    with pytest.raises(ValueError, match="pins no version of copier-template-extensions"):
        context.template_tools(pyproject)


def test_uv_version_is_the_template_pin() -> None:
    """The Dockerfile's uv image: the uv that the template's own dev environment pins."""
    pyproject = tomllib.loads(context.TEMPLATE_PYPROJECT.read_text(encoding="utf-8"))
    assert f"uv=={context.uv_version()}" in pyproject["dependency-groups"]["dev"]


def test_the_makefile_bootstraps_the_pinned_uv() -> None:
    """`make dev` installs uv before uv.lock can: the same version, written out in the Makefile."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"\nUV_VERSION := {context.uv_version()}\n" in makefile


def test_uv_version_refuses_a_missing_pin(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('dev = ["uv>=0.5"]\n')
    with pytest.raises(ValueError, match="pins no version of uv"):
        context.uv_version(pyproject)


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain text", '"plain text"'),
        ('say "hi" to $HOME', '"say \\"hi\\" to \\$HOME"'),
        # A backslash goes between quoted parts: hadolint misreads \\" inside quotes.
        ("back\\slash\\", '"back"\\\\"slash"\\\\""'),
        ("tab\tnew\nline", '"tab new line"'),
    ],
)
def test_dockerfile_str_quotes_one_word(value: str, quoted: str) -> None:
    assert context.dockerfile_str(value) == quoted


# A DNS label (RFC 1123), as Kubernetes checks the names of namespaces and Services.
DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"


@pytest.mark.parametrize(
    ("slug", "name"),
    [
        ("acme-billing", "acme-billing"),
        ("a" * 55, "a" * 55),
        # Cut at 55 characters, a hyphen left at the end dropped.
        ("acme-" + "b" * 49 + "-c" + "d" * 19, "acme-" + "b" * 49),
        ("a" * 55 + "-b", "a" * 55),
        ("a" * 54 + "-bc", "a" * 54),
        ("a" * 75, "a" * 55),
        ("x" + "-y" * 37, "x" + "-y" * 27),
        # Never back to an earlier hyphen: a short first word keeps the long one after it.
        ("a-" + "b" * 60, "a-" + "b" * 53),
        ("acme-" + "b" * 50 + "-c" + "d" * 18, "acme-" + "b" * 50),
    ],
)
def test_k8s_name_leaves_room_for_the_longest_suffix(slug: str, name: str) -> None:
    """`<name>-staging` and `<name>-migrate`, the longest names, stay DNS labels (<= 63)."""
    assert context.k8s_name(slug) == name
    assert context.fullmatch(f"{name}-staging", DNS_LABEL)
    assert len(f"{name}-staging") <= 63


# The distribution of each importable extension copier.yml has ever named; one named as
# `path.py:Class` is a file of the template and comes with every release.
EXTENSION_SOURCES = {
    "copier_template_extensions": "copier-template-extensions",
    "jinja2_time": "jinja2-time",
}


def test_an_update_installs_the_extensions_of_every_release() -> None:
    """copier re-renders a project's old release on update: what any release loads, an update
    installs (docs/decisions/0002)."""
    commits = git(ROOT, "log", "--format=%H", "--", "copier.yml").split()
    configs = [yaml.safe_load(git(ROOT, "show", f"{commit}:copier.yml")) for commit in commits]
    configs.append(yaml.safe_load((ROOT / "copier.yml").read_text()))
    for config in configs:
        for entry in config.get("_jinja_extensions", []):
            if ":" not in entry:
                assert EXTENSION_SOURCES.get(entry.split(".")[0]) in context.RENDER_TOOLS, entry


def test_the_update_script_runs_the_pinned_render_tools(renderer: Renderer) -> None:
    script = (renderer.variant("library").path / "scripts" / "template-update.py").read_text()
    for name, version in context.template_tools().items():
        assert f'"{name}=={version}"' in script
