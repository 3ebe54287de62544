"""The rendered Makefile's everyday targets, run for real in a set-up service and library:
environment, quality, tests and coverage, build and version, shell, env."""

from __future__ import annotations

import re
import stat
import zipfile

import pytest

from helpers import output
from project import Project, Renderer

# Run on one worker: the module's projects are set up once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("make-targets")]


@pytest.fixture(scope="module", params=["defaults", "library"])
def kind(request: pytest.FixtureRequest) -> str:
    """The variant: copier's defaults (a service), or a library."""
    return str(request.param)


@pytest.fixture(scope="module")
def project(kind: str, renderer: Renderer) -> Project:
    """The variant set up and committed; tests leave its tree as they found it."""
    made = renderer.render(kind, setup=True)
    made.commit()
    return made


@pytest.fixture
def scratch(kind: str, render: Renderer) -> Project:
    """A throwaway render of the variant, for targets that change the project."""
    made = render(kind, setup=True)
    made.commit()
    return made


def clean_tree(project: Project) -> bool:
    """No change to any file git tracks, and no new file it does not ignore."""
    return project.git("status", "--porcelain") == ""


def test_setup_sync_install_and_lock_leave_a_clean_tree(project: Project) -> None:
    for target in ("setup", "sync", "install", "lock"):
        project.make(target)
    assert clean_tree(project)
    assert (
        "--upgrade-package iniconfig" in project.make("-n", "upgrade", "PACKAGE=iniconfig").stdout
    )
    assert "uv lock --upgrade" in project.make("-n", "upgrade").stdout


def test_upgrade_one_package(project: Project) -> None:
    assert "uv sync --locked" in output(project.make("upgrade", "PACKAGE=iniconfig"))
    project.make("check")
    project.git("checkout", "--", "uv.lock")
    project.make("install")


def test_lint_fix_applies_safe_fixes(project: Project) -> None:
    module = project.path / "src" / project.package / "log.py"
    original = module.read_text()
    module.write_text(original.replace('"""\n', '"""\n\nimport os\n', 1))
    assert output(project.make("lint", check=False)).count("F401") == 1
    try:
        # ruff may count the unused import and the import block it leaves as one fix or two.
        fixed = output(project.make("lint-fix"))
        assert re.search(r"Found \d+ errors? \(\d+ fixed, 0 remaining\)", fixed)
        assert "import os" not in module.read_text()
        project.make("lint")
    finally:
        module.write_text(original)


def test_test_fast_skips_slow_tests_and_coverage(project: Project) -> None:
    slow = project.path / "tests" / "test_slow_example.py"
    slow.write_text("import pytest\n\n\n@pytest.mark.slow\ndef test_slow() -> None:\n    pass\n")
    try:
        fast = output(project.make("test-fast"))
        assert re.search(r"\d+ passed, (\d+ skipped, )?1 deselected", fast)
        assert "coverage" not in fast.lower()
        full = output(project.make("test"))
        assert "1 deselected" not in full
        assert "Required test coverage of 90.0% reached" in full
    finally:
        slow.unlink()


def test_coverage_reports(project: Project) -> None:
    out = output(project.make("coverage"))
    assert re.search(r"Name +Stmts +Miss +Branch +BrPart +Cover +Missing", out)
    project.make("coverage-html")
    assert (project.path / "htmlcov" / "index.html").exists()
    project.make("clean")
    assert not (project.path / "htmlcov").exists()
    assert clean_tree(project)


def test_pre_commit_install(project: Project) -> None:
    hook = project.path / ".git" / "hooks" / "pre-commit"
    hook.unlink()
    installed = output(project.make("pre-commit-install"))
    assert "pre-commit installed at .git/hooks/pre-commit" in installed
    assert hook.exists()


def test_shell_imports_the_package(project: Project) -> None:
    code = f"import {project.package}\nprint('version', {project.package}.__version__)\n"
    assert "version 0.1.0" in project.make("shell", input=code).stdout


def test_build_makes_a_typed_wheel_and_an_sdist(project: Project) -> None:
    project.make("build")
    dist = project.path / "dist"
    wheel = next(dist.glob("acme_billing-0.1.0-py3-none-any.whl"))
    assert next(dist.glob("acme_billing-0.1.0.tar.gz"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"acme_billing/__init__.py", "acme_billing/py.typed"} <= names
    assert not any(name.startswith("tests/") for name in names)
    project.make("clean")
    assert clean_tree(project)


def test_version_and_bumps_change_one_place_and_no_history(scratch: Project) -> None:
    head = scratch.git("rev-parse", "HEAD")
    assert scratch.make("version").stdout.strip() == "0.1.0"
    for target, version in (("bump-patch", "0.1.1"), ("bump-minor", "0.2.0"),
                            ("bump-major", "1.0.0")):  # fmt: skip
        assert f" => {version}" in output(scratch.make(target))
        assert scratch.make("version").stdout.strip() == version
    assert scratch.git("diff", "--name-only").split() == ["pyproject.toml", "uv.lock"]
    assert 'version = "1.0.0"' in (scratch.path / "pyproject.toml").read_text()
    assert scratch.git("rev-parse", "HEAD") == head
    assert scratch.git("tag") == ""
    # __version__ follows, and every gate (lock consistency included) still passes.
    code = f"import {scratch.package} as p; print('version', p.__version__)"
    assert "version 1.0.0" in scratch.run([scratch.tool("python"), "-c", code]).stdout
    scratch.make("check")


def test_clean_all_removes_the_environment_and_the_next_target_restores_it(
    scratch: Project,
) -> None:
    scratch.make("clean-all")
    assert not (scratch.path / ".venv").exists()
    assert ".venv is not set up yet: running make setup first." in output(scratch.make("lint"))
    assert (scratch.path / ".venv" / ".setup-done").exists()


def test_env_creates_and_never_overwrites(project: Project) -> None:
    if not project.is_service:
        pytest.skip("only services have .env.example")
    env_file = project.path / ".env"
    try:
        assert "Created .env from .env.example" in output(project.make("env"))
        created = env_file.read_text().splitlines()
        example = (project.path / ".env.example").read_text().splitlines()
        if "celery" in project.services:
            # Flower's password is made up; the rest is the example.
            flower = example.index("FLOWER_BASIC_AUTH=")
            assert re.fullmatch(r"FLOWER_BASIC_AUTH=admin:[A-Za-z0-9]{24}", created.pop(flower))
            del example[flower]
        if project.on("use_docker") and "redis" in project.services:
            # So is the compose Redis's password.
            redis = example.index("REDIS_PASSWORD=")
            assert re.fullmatch(r"REDIS_PASSWORD=[A-Za-z0-9]{24}", created.pop(redis))
            del example[redis]
        assert created == example
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        env_file.write_text("LOG_LEVEL=DEBUG\nSECRET=mine\n")
        out = output(project.make("env"))
        assert ".env exists: left unchanged." in out
        assert "does not set: ENVIRONMENT LOG_JSON HOST PORT" in out
        assert env_file.read_text() == "LOG_LEVEL=DEBUG\nSECRET=mine\n"
    finally:
        env_file.unlink(missing_ok=True)
