"""Render each variant with its setup, then run the rendered project's own gates for real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import VARIANTS, clean_env, load_extension, render, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def green(variant: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variant rendered with its post-generation setup, as `copier copy` does it."""
    return render(tmp_path_factory.mktemp(f"green-{variant}") / "project", VARIANTS[variant],
                  setup=True)  # fmt: skip


def test_setup_created_the_environment(green: Path) -> None:
    assert (green / ".venv" / "bin" / "python").exists()
    assert (green / ".venv" / ".setup-done").exists()
    assert (green / "uv.lock").exists()
    hook = green / ".git" / "hooks" / "pre-commit"
    assert hook.exists() == (green / ".pre-commit-config.yaml").exists()


def test_every_locked_dependency_is_a_reserved_name(green: Path) -> None:
    """copier.yml refuses project names uv could not install beside these dependencies."""
    locked = set(re.findall(r'^name = "([^"]+)"', (green / "uv.lock").read_text(), re.MULTILINE))
    locked.discard("acme-billing")
    assert locked <= set(load_extension().reserved_project_names())


def test_make_check_is_green(green: Path) -> None:
    out = run(["make", "check"], green).stdout
    for gate in ("uv lock --check", "ruff check", "ruff format --check", "mypy", "bandit"):
        assert gate in out
    assert "Required test coverage of 90.0% reached" in out
    assert re.search(r"\d+ passed", out)


def test_quality_targets_run(green: Path) -> None:
    run(["git", "add", "-A"], green)
    run(["make", "format"], green)
    assert not run(["git", "diff", "--stat"], green).stdout.strip(), "make format changed files"
    for target in ("lint", "typecheck", "security", "install", "lock"):
        run(["make", target], green)
    out = run(["make", "test", "PYTEST_ARGS=-k version --no-cov"], green).stdout
    assert re.search(r"1 passed, \d+ deselected", out)


def test_pre_commit_hooks_pass_on_a_first_commit(variant: str, green: Path) -> None:
    if not VARIANTS[variant].get("use_pre_commit", True):
        pytest.skip("pre-commit is off in this variant")
    run(["git", "add", "-A"], green)
    run(["make", "pre-commit"], green)
    env = clean_env(
        GIT_AUTHOR_NAME="Test", GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="Test", GIT_COMMITTER_EMAIL="t@example.com",
    )  # fmt: skip
    out = run(["git", "commit", "-m", "Initial commit"], green, env=env)
    assert "ruff lint" in out.stdout + out.stderr  # the installed hook ran


def test_clean_removes_caches_but_keeps_the_environment(green: Path) -> None:
    run(["make", "test"], green)
    assert (green / ".cache").exists()
    run(["make", "clean"], green)
    assert not (green / ".cache").exists()
    assert not list(green.glob("src/**/__pycache__"))
    assert (green / ".venv" / "bin" / "python").exists()


def last_command(output: str) -> str:
    """The last recipe line make echoed: the gate that stopped it."""
    commands = [line for line in output.splitlines() if line.startswith(".venv/bin/")]
    return commands[-1] if commands else ""


UNTESTED = "".join(f'\n\ndef f{i}() -> int:\n    """Doc."""\n    return {i}\n' for i in range(40))
BREAKAGES = {
    "ruff check": ("import os\n", "F401"),
    "ruff format --check": ('"""Doc."""\n\nX = {  "a":1 }\n', "would be reformatted"),
    "mypy": (
        '"""Doc."""\n\n\ndef f(x):  # noqa: ANN001, ANN201, D103\n    return x\n',
        "no-untyped-def",
    ),
    "bandit": (
        '"""Doc."""\n\nimport pickle\n\n\ndef load(data: bytes) -> object:\n'
        '    """Doc."""\n    return pickle.loads(data)  # noqa: S301\n',
        "B301",
    ),
    "pytest": ('"""Doc."""\n' + UNTESTED, "Required test coverage of 90.0% not reached"),
}


def test_gates_fail_on_bad_code(tmp_path: Path) -> None:
    """Each gate stops `make check` with a non-zero status when its rule is broken."""
    project = render(tmp_path / "p", {"project_type": "library"}, setup=True)
    module = project / "src" / "acme_billing" / "extra.py"
    for gate, (source, message) in BREAKAGES.items():
        module.write_text(source)
        result = run(["make", "check"], project, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0, f"make check passed with a {gate} problem"
        assert gate in last_command(result.stdout), (gate, output[-3000:])
        assert message in output, (gate, output[-3000:])
    module.unlink()
    run(["make", "check"], project)
