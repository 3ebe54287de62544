"""What every variant renders: the right files, valid formats, no template leftovers."""

from __future__ import annotations

import ast
import datetime
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from helpers import dev_tool
from project import VARIANTS, Project, Renderer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|%\}|(?<!\$)\{#")  # ${#var}: a bash length
ALWAYS = {
    ".copier-answers.yml",
    ".editorconfig",
    ".gitignore",
    ".python-version",
    "CHANGELOG.md",
    "LICENSE",
    "Makefile",
    "README.md",
    "pyproject.toml",
    "scripts/doctor.sh",
    "scripts/release.py",
    "scripts/setup.sh",
    "scripts/template-update.py",
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
# The container files of a service with `use_docker` (tests/test_docker.py checks their content),
# and the smoke checks CI runs on them (tests/test_ci_jobs.py).
DOCKER = {"Dockerfile", ".dockerignore", "compose.yaml", "scripts/smoke.py"}
# The Kubernetes manifests of `use_kubernetes` (tests/test_kubernetes.py builds and checks them),
# the script of their make targets (tests/test_make_k8s.py); the Celery processes' with celery.
KUBERNETES = {
    "scripts/k8s.py",
    *(f"deploy/k8s/base/{name}.yaml" for name in (
        "kustomization", "service-account", "network-policy", "migrate", "app")),
    *(f"deploy/k8s/overlays/{overlay}/{name}" for overlay in ("staging", "production")
      for name in ("kustomization.yaml", "namespace.yaml", "config.env.example",
                   "secret.env.example")),
    "deploy/k8s/overlays/production/ingress.yaml",
}  # fmt: skip
KUBERNETES_CELERY = {f"deploy/k8s/base/{name}.yaml" for name in ("worker", "beat", "flower")}
# The docs site of `use_docs` (tests/test_project_docs.py builds it).
DOCS = {"docs/.gitignore", "docs/conf.py", "docs/index.md", "docs/development.md"}
# The specs, decision records and AGENTS.md of `use_docs` (tests/test_specs.py, test_agents.py).
SPECS = {
    "AGENTS.md",
    "scripts/check-specs.py",
    "specs/README.md",
    "specs/template.md",
    "docs/decisions/index.md",
    "docs/decisions/template.md",
    "docs/decisions/0001-start-from-the-template.md",
}


def expected_files(project: Project) -> set[str]:
    """The file list a variant must render, derived from the answers it recorded."""
    files = set(ALWAYS)
    if project.is_service:
        files |= SERVICE_ONLY
        for service in project.services:
            files |= BACKING.get(service, set())
        if project.services:
            files.add("tests/test_integration.py")
        if project.on("use_docker"):
            files |= DOCKER
        if project.on("use_kubernetes"):
            files |= KUBERNETES | (KUBERNETES_CELERY if "celery" in project.services else set())
    if project.on("use_pre_commit"):
        files.add(".pre-commit-config.yaml")
    if project.on("use_docs"):
        files |= DOCS | SPECS
        files.add("specs/notes.md" if project.is_service else "specs/logging.md")
    if project.on("use_github_actions"):
        files |= {".github/workflows/ci.yml", ".github/workflows/release.yml"}
    if project.on("use_dependabot"):
        files.add(".github/dependabot.yml")
    if project.on("auto_sync"):
        files |= {"scripts/auto-sync.py", "scripts/auto-sync.sh"}
        if project.on("use_github_actions"):
            files |= {"scripts/template-sync.py", ".github/workflows/template-sync.yml"}
    return files


def test_renders_exactly_the_variant_files(rendered: Project) -> None:
    names = {p.relative_to(rendered.path).as_posix() for p in rendered.files()}
    assert names == expected_files(rendered)
    dirs = [p for p in rendered.path.rglob("*") if p.is_dir() and ".git" not in p.parts]
    assert all(any(d.iterdir()) for d in dirs), "empty directory rendered"


def test_answers_are_those_of_the_variant(variant: str, rendered: Project) -> None:
    """What variants.yml says is what copier recorded (the rest are copier's defaults)."""
    for question, answer in VARIANTS[variant].items():
        assert rendered.answers[question] == answer, question


def test_text_files_are_clean(rendered: Project) -> None:
    for path in rendered.files():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(rendered.path).as_posix()
        if path.name == "py.typed":
            continue
        assert text.strip(), f"{name} is empty"
        assert not LEFTOVER.search(text), f"{name} has leftover Jinja: {LEFTOVER.search(text)}"
        assert text.endswith("\n"), f"{name} does not end with a newline"
        assert not text.endswith("\n\n"), f"{name} ends with blank lines"
        trailing = [n for n, line in enumerate(text.splitlines(), 1) if line != line.rstrip()]
        assert not trailing, f"{name} has trailing whitespace on lines {trailing}"


def test_structured_files_parse(rendered: Project) -> None:
    parsed = 0
    for path in rendered.files():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in {".yml", ".yaml"}:
            list(yaml.safe_load_all(text))  # Kubernetes manifests hold several documents
        elif path.suffix == ".json":
            json.loads(text)
        else:
            continue
        parsed += 1
    assert parsed >= 2


def test_metadata_follows_the_answers(rendered: Project) -> None:
    answers = rendered.answers
    project = tomllib.loads((rendered.path / "pyproject.toml").read_text(encoding="utf-8"))
    metadata = project["project"]
    assert metadata["name"] == "acme-billing"
    assert metadata["requires-python"] == f">={answers['python_min_version']}"
    assert metadata["authors"] == [{"name": "Acme Developers", "email": "dev@acme.example.com"}]
    assert metadata.get("license", "Proprietary") == answers["license"]
    python_version = (rendered.path / ".python-version").read_text()
    assert python_version == f"{answers['python_version']}\n"
    license_text = (rendered.path / "LICENSE").read_text(encoding="utf-8")
    assert str(datetime.datetime.now(tz=datetime.timezone.utc).year) in license_text
    assert "Acme Developers" in license_text
    heading = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "BSD-3-Clause": "BSD 3-Clause License",
        "Proprietary": "All rights reserved.",
    }[answers["license"]]
    assert heading in license_text
    assert answers["project_name"] == "Acme Billing"
    assert "skip_setup" not in answers


def test_post_generation_initialised_git(rendered: Project) -> None:
    assert rendered.git("symbolic-ref", "--short", "HEAD") == "main"


def test_scripts_are_shellcheck_clean(rendered: Project) -> None:
    scripts = sorted(str(p.relative_to(rendered.path)) for p in rendered.path.glob("scripts/*.sh"))
    assert "scripts/setup.sh" in scripts
    rendered.run([dev_tool("shellcheck"), "--shell=bash", *scripts])


@pytest.mark.parametrize(
    "description",
    [
        "Says \"hello\" to #everyone: naïve café, 日本語, emoji 🚀, back\\slash and 'quotes'",
        "key: value # not a comment, [not, a, list], {not: a map}, & *alias ~",
    ],
)
def test_any_description_renders_into_valid_toml_and_yaml(
    description: str, render: Renderer
) -> None:
    project = render(description=description)
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == description
    assert project.answers["description"] == description
    assert description in (project.path / "README.md").read_text(encoding="utf-8")


def test_questions_that_do_not_apply_are_not_recorded(render: Renderer) -> None:
    project = render("library", auto_sync=False)
    assert "use_docker" not in project.answers
    assert "services" not in project.answers
    assert "sync_interval_hours" not in project.answers


def test_defaults_come_from_git_config(
    render: Renderer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Ada Lovelace\n\temail = ada@example.org\n[github]\n\tuser = ada-l\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    answers = render(project_name="Analytical Engine", base={}).answers
    assert answers["author_name"] == "Ada Lovelace"
    assert answers["author_email"] == "ada@example.org"
    assert answers["github_owner"] == "ada-l"
    assert answers["project_slug"] == "analytical-engine"
    assert answers["package_name"] == "analytical_engine"


# The modules that read the same whatever the `services` answer: the routers, schemas,
# dependencies, middleware and assembly reach the backing services only through services.py.
SAME_FOR_EVERY_SERVICES_ANSWER = (
    "__main__.py", "api/__init__.py", "api/health.py", "api/notes.py", "app.py", "db.py",
    "dependencies.py", "healthcheck.py", "log.py", "middleware.py", "models.py", "schemas.py",
)  # fmt: skip


def test_routers_and_assembly_read_the_same_for_every_services_answer(renderer: Renderer) -> None:
    services = [p for p in map(renderer.variant, VARIANTS) if p.is_service]
    assert len({tuple(p.services) for p in services}) >= 5
    for name in SAME_FOR_EVERY_SERVICES_ANSWER:
        texts = {(p.path / "src" / p.package / name).read_text(encoding="utf-8") for p in services}
        assert len(texts) == 1, f"{name} differs with the services answer"
    assert len({(p.path / "src" / p.package / "services.py").read_text() for p in services}) > 1


def test_every_module_has_a_one_line_docstring_summary(rendered: Project) -> None:
    for path in (rendered.path / "src").rglob("*.py"):
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        name = path.relative_to(rendered.path).as_posix()
        assert docstring, f"{name} has no docstring"
        summary = docstring.splitlines()[0]
        assert summary.endswith("."), f"{name}: {summary!r} is not one line that ends the sentence"
        assert len(summary) <= 100, f"{name}: the first line is {len(summary)} characters"


def test_the_readme_layout_names_every_module(rendered: Project) -> None:
    if not rendered.is_service:
        pytest.skip("a library's package is its own to lay out")
    readme = (rendered.path / "README.md").read_text(encoding="utf-8")
    layout = readme.split("### Layout", 1)[1].split("\n#", 1)[0]
    listed = set(re.findall(r"^\| `([^`]+)` \|", layout, re.MULTILINE))
    package = rendered.path / "src" / rendered.package
    modules = {
        f"{path.name}/" if path.is_dir() else path.name
        for path in package.iterdir()
        if path.name not in {"__init__.py", "__main__.py", "py.typed", "__pycache__"}
    }
    assert listed == modules
