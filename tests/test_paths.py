"""Projects in folders whose names break careless shell code: a space, `$(command)`, a backtick
command and quotes. The core targets pass there, and no command hidden in the name ever runs.

Make pastes variables into a recipe's text before the shell reads it, so a recipe that names an
absolute path ($(CURDIR)) splits at the space and runs `$(touch CANARY)`. A folder name cannot
hold a `/`, so the command touches a file relative to the shell's working directory: that is
where the canary would appear.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from copier import run_copy

from helpers import clean_env, copy_template, output, run
from project import BASE_ANSWERS, VARIANTS, Project, prompt_environment

# Run on one worker: the module's renders come from one template repository.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("paths")]

# One folder name per hazard; {canary} is the file a command in the name would create.
HOSTILE = {
    "space": "a b",
    "command": "d$(touch {canary})x",
    "backtick": "b`touch {canary}`x",
    "quote": "q'x",
}
# Every hazard at once, under a folder with a space (and a double quote and a semicolon).
ALL_AT_ONCE = ("a b", "d$(touch {canary})x`touch {canary}`'q\"w;z")


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as a template repository released as v1, so template-status answers."""
    return copy_template(tmp_path_factory.mktemp("paths") / "template", release="v1")


@pytest.fixture
def canary() -> str:
    """A file name no other test uses: where it appears, a command in a folder name ran."""
    return f"canary-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def no_canary(canary: str, tmp_path: Path) -> Iterator[None]:
    """Fail the test when the canary file appears in any working directory a shell may have."""
    yield
    places = [Path.cwd(), Path(tempfile.gettempdir()), Path.home()]
    found = [place / canary for place in places if (place / canary).exists()]
    found += list(tmp_path.rglob(canary))
    assert not found, f"a command in a folder name ran: {found}"


def render_into(template: Path, destination: Path, variant: str, *, setup: bool = False) -> Project:
    """Render `variant` into exactly `destination` (pytest-copie chooses its own folders)."""
    data = {**BASE_ANSWERS, **VARIANTS[variant], "skip_setup": not setup}
    with prompt_environment() if setup else contextlib.nullcontext():
        worker = run_copy(
            src_path=str(template),
            dst_path=destination,
            unsafe=True,
            defaults=True,
            user_defaults=data,
            vcs_ref="HEAD",
            quiet=True,
        )
    project = Project(Path(worker.dst_path))
    assert project.path == destination
    assert (destination / "Makefile").is_file()
    return project


@pytest.mark.usefixtures("no_canary")
def test_service_is_green_in_a_folder_named_with_every_hazard(
    released: Path, tmp_path: Path, canary: str
) -> None:
    """The defaults, set up by the post-copy task, pass `make check` and the core targets."""
    destination = tmp_path.joinpath(*(part.format(canary=canary) for part in ALL_AT_ONCE))
    project = render_into(released, destination, "defaults", setup=True)
    assert (project.path / ".venv" / ".setup-done").exists()
    out = output(project.make("check"))
    assert "Required test coverage of 90.0% reached" in out
    project.make("lock")
    assert "setup" in project.help_targets()
    assert "doctor: everything the project needs is here." in output(project.make("doctor"))
    status = project.make("template-status").stdout.strip()
    assert status == "template at 1: no newer release"


@pytest.mark.usefixtures("no_canary")
@pytest.mark.parametrize("hazard", sorted(HOSTILE))
def test_library_core_targets_in_a_hostile_folder(
    released: Path, tmp_path: Path, canary: str, hazard: str
) -> None:
    """A library set up with `make setup`: the targets that name paths, in each folder."""
    name = HOSTILE[hazard].format(canary=canary)
    project = render_into(released, tmp_path / name, "library")
    project.make("setup")
    assert (project.path / ".venv" / ".setup-done").exists()
    for target in ("lock", "lint"):
        project.make(target)
    assert "doctor: everything the project needs is here." in output(project.make("doctor"))
    status = project.make("template-status").stdout.strip()
    assert status == "template at 1: no newer release"
    assert "setup" in project.help_targets()
    if " " not in name:  # make splits MAKEFILE_LIST at spaces: -f cannot name such a path
        # From outside the folder: make hands the -f path to the help recipe.
        listed = output(run(["make", "-f", f"{name}/Makefile", "help"], tmp_path))
        assert "template-status" in listed


@pytest.mark.usefixtures("no_canary")
def test_hostile_home_and_path_run_nothing(released: Path, tmp_path: Path, canary: str) -> None:
    """Make expands the variables it takes from the environment: a `$(shell ...)` in HOME or
    PATH would run when the Makefile puts them together (uv's install locations)."""
    project = render_into(released, tmp_path / "project", "library")
    home = tmp_path / f"h o$(shell touch {canary})me"
    home.mkdir()
    path = f"{clean_env()['PATH']}:{tmp_path}/p$(shell touch {canary})"
    env = {"HOME": str(home), "PATH": path}
    assert "template-status" in output(project.make("help", env=env))
    assert "doctor:" in output(project.make("doctor", env=env, check=False))
