"""What every variant renders: the right files, valid formats, no template leftovers."""

from __future__ import annotations

import datetime
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from helpers import BASE_ANSWERS, VARIANTS, render, run

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|%\}|\{#")
ALWAYS = {
    ".copier-answers.yml",
    ".editorconfig",
    ".gitignore",
    ".python-version",
    "LICENSE",
    "Makefile",
    "README.md",
    "pyproject.toml",
    "scripts/doctor.sh",
    "scripts/setup.sh",
    "src/acme_billing/__init__.py",
    "src/acme_billing/log.py",
    "src/acme_billing/py.typed",
    "tests/test_log.py",
    "tests/test_package.py",
}
SERVICE_MODULES = (
    "__main__", "api/__init__", "api/health", "api/notes", "app", "cli", "db", "dependencies",
    "healthcheck", "middleware", "migrations/__init__", "migrations/env", "models", "programs",
    "schemas", "services", "settings",
)  # fmt: skip
SERVICE_TESTS = (
    "conftest", "test_app", "test_cli", "test_db", "test_health", "test_healthcheck",
    "test_middleware", "test_notes", "test_programs", "test_services", "test_settings",
)  # fmt: skip
SERVICE_ONLY = {
    ".env.example",
    *(f"src/acme_billing/{name}.py" for name in SERVICE_MODULES),
    "src/acme_billing/migrations/script.py.mako",
    "src/acme_billing/migrations/versions/v0001_create_notes.py",
    *(f"tests/{name}.py" for name in SERVICE_TESTS),
}
# Files of the backing services a service may choose (`services`).
BACKING = {
    "redis": {"src/acme_billing/cache.py", "tests/test_cache.py"},
    "celery": {"src/acme_billing/worker.py", "tests/test_worker.py"},
}
# The container files of a service with `use_docker` (tests/test_docker.py checks their content).
DOCKER = {"Dockerfile", ".dockerignore", "compose.yaml"}


def project_files(project: Path) -> list[Path]:
    """Rendered files, without what git init and setup add."""
    return sorted(
        p
        for p in project.rglob("*")
        if p.is_file() and not {".git", ".venv"} & set(p.relative_to(project).parts)
    )


def expected_files(answers: dict[str, object]) -> set[str]:
    """The file list a variant must render, derived from its answers."""
    merged = {"project_type": "service", **answers}
    files = set(ALWAYS)
    if merged["project_type"] == "service":
        files |= SERVICE_ONLY
        services = merged.get("services", ["postgres", "redis", "celery"])
        assert isinstance(services, list)
        for service in services:
            files |= BACKING.get(service, set())
        if services:
            files.add("tests/test_integration.py")
        if merged.get("use_docker", True):
            files |= DOCKER
    if merged.get("use_pre_commit", True):
        files.add(".pre-commit-config.yaml")
    if merged.get("use_github_actions", True):
        files.add(".github/workflows/ci.yml")
    if merged.get("use_dependabot", True):
        files.add(".github/dependabot.yml")
    if merged.get("auto_sync", True):
        files.add("scripts/auto-sync.sh")
        if merged.get("use_github_actions", True):
            files |= {"scripts/template-sync.sh", ".github/workflows/template-sync.yml"}
    return files


def test_renders_exactly_the_variant_files(variant: str, rendered: Path) -> None:
    names = {p.relative_to(rendered).as_posix() for p in project_files(rendered)}
    assert names == expected_files(VARIANTS[variant])
    dirs = [p for p in rendered.rglob("*") if p.is_dir() and ".git" not in p.parts]
    assert all(any(d.iterdir()) for d in dirs), "empty directory rendered"


def test_text_files_are_clean(rendered: Path) -> None:
    for path in project_files(rendered):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(rendered).as_posix()
        if path.name == "py.typed":
            continue
        assert text.strip(), f"{name} is empty"
        assert not LEFTOVER.search(text), f"{name} has leftover Jinja: {LEFTOVER.search(text)}"
        assert text.endswith("\n"), f"{name} does not end with a newline"
        assert not text.endswith("\n\n"), f"{name} ends with blank lines"
        trailing = [n for n, line in enumerate(text.splitlines(), 1) if line != line.rstrip()]
        assert not trailing, f"{name} has trailing whitespace on lines {trailing}"


def test_structured_files_parse(rendered: Path) -> None:
    parsed = 0
    for path in project_files(rendered):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(text)
        elif path.suffix == ".json":
            json.loads(text)
        else:
            continue
        parsed += 1
    assert parsed >= 2


def test_metadata_follows_the_answers(variant: str, rendered: Path) -> None:
    answers = {**BASE_ANSWERS, **VARIANTS[variant]}
    project = tomllib.loads((rendered / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "acme-billing"
    assert project["requires-python"] == f">={answers.get('python_min_version', '3.11')}"
    assert project["authors"] == [{"name": "Acme Developers", "email": "dev@acme.example.com"}]
    license_name = answers.get("license", "MIT")
    assert project.get("license", "Proprietary") == license_name
    assert (
        rendered / ".python-version"
    ).read_text() == f"{answers.get('python_version', '3.12')}\n"
    license_text = (rendered / "LICENSE").read_text(encoding="utf-8")
    assert str(datetime.datetime.now(tz=datetime.timezone.utc).year) in license_text
    assert "Acme Developers" in license_text
    heading = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "BSD-3-Clause": "BSD 3-Clause License",
        "Proprietary": "All rights reserved.",
    }[str(license_name)]
    assert heading in license_text
    recorded = yaml.safe_load((rendered / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert recorded["project_name"] == "Acme Billing"
    assert "skip_setup" not in recorded


def test_post_generation_initialised_git(rendered: Path) -> None:
    branch = run(["git", "symbolic-ref", "--short", "HEAD"], rendered).stdout.strip()
    assert branch == "main"


def test_scripts_are_shellcheck_clean(rendered: Path) -> None:
    scripts = sorted(str(path.relative_to(rendered)) for path in rendered.glob("scripts/*.sh"))
    assert "scripts/setup.sh" in scripts
    run(["shellcheck", "--shell=bash", *scripts], rendered)


@pytest.mark.parametrize(
    "description",
    [
        "Says \"hello\" to #everyone: naïve café, 日本語, emoji 🚀, back\\slash and 'quotes'",
        "key: value # not a comment, [not, a, list], {not: a map}, & *alias ~",
    ],
)
def test_any_description_renders_into_valid_toml_and_yaml(description: str, tmp_path: Path) -> None:
    project = render(tmp_path / "p", {"description": description})
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == description
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["description"] == description
    assert description in (project / "README.md").read_text(encoding="utf-8")


def test_questions_that_do_not_apply_are_not_recorded(tmp_path: Path) -> None:
    project = render(tmp_path / "lib", {"project_type": "library", "auto_sync": False})
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert "use_docker" not in answers
    assert "sync_interval_hours" not in answers


def test_defaults_come_from_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Ada Lovelace\n\temail = ada@example.org\n[github]\n\tuser = ada-l\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    project = render(tmp_path / "p", {"project_name": "Analytical Engine"}, base={})
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["author_name"] == "Ada Lovelace"
    assert answers["author_email"] == "ada@example.org"
    assert answers["github_owner"] == "ada-l"
    assert answers["project_slug"] == "analytical-engine"
    assert answers["package_name"] == "analytical_engine"
