"""`copier update` as a team lives it: from every release and from older commits of this
repository (tagged in a temporary clone), with ordinary edits of the team's own, to the
working tree. Nothing the team wrote is lost, no stack is added, the result is green.
"""

from __future__ import annotations

import json
import re
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from helpers import BIN, git, output
from project import Project, Renderer, TemplateRepo
from releases import OLDER_COMMITS, clone_template, release_commits

pytestmark = pytest.mark.slow

# Every release (found by its changelog heading, tags or not) and the older commits.
SOURCES = [*release_commits(), *OLDER_COMMITS]
# The services whose dependencies make a stack: an update must never add one.
STACK = {"postgres": "psycopg", "redis": "redis", "celery": "celery"}
MARKER = re.compile(r"^(<<<<<<<|=======|>>>>>>>)( .*)?$\n?", re.MULTILINE)

PRICING = '''"""Prices of the team's own product."""


def with_vat(cents: int, rate_percent: int = 20) -> int:
    """Return `cents` with VAT added, rounded down to a cent."""
    return cents * (100 + rate_percent) // 100
'''
TEST_PRICING = """from {package}.pricing import with_vat


def test_with_vat_adds_the_rate() -> None:
    assert with_vat(1000) == 1200
"""
HELLO_TARGET = "\n.PHONY: hello\nhello: ## Greet the team (our own target)\n\t@echo hello team\n"


@dataclass(frozen=True)
class Edit:
    """A change the team made: `text` must still be in `path` after any update."""

    path: str
    text: str


def team_edits(project: Project) -> list[Edit]:
    """Make and commit a team's ordinary edits; return them."""
    package = project.package
    edits = [
        Edit(f"src/{package}/pricing.py", PRICING),
        Edit("tests/test_pricing.py", TEST_PRICING.format(package=package)),
        Edit("Makefile", HELLO_TARGET),
        Edit("README.md", "\n## Our runbook\n\nPage the on-call engineer.\n"),
    ]
    if project.is_service:
        edits.append(Edit(".env.example", "\n# Ops: production values are in the vault.\n"))
    if (project.path / "src" / package / "config.py").exists():
        # A module that later releases replaced (by settings.py): the update removes it.
        edits.append(Edit(f"src/{package}/config.py", "\n# Our staging override.\n"))
    for edit in edits:
        path = project.path / edit.path
        path.write_text(path.read_text() + edit.text if path.exists() else edit.text)
    pyproject = project.path / "pyproject.toml"
    text = pyproject.read_text()
    for old, new in (
        ("fail_under = 90", "fail_under = 95"),
        ('ignore = ["D203", "D213"]', 'ignore = ["D203", "D213", "TRY003"]'),
    ):
        assert old in text, f"{old!r} is not in pyproject.toml"
        text = text.replace(old, new)
        edits.append(Edit("pyproject.toml", new))
    pyproject.write_text(text)
    uv_python = {"UV_PYTHON": project.tool("python")}
    project.run([project.tool("uv"), "add", "--quiet", "tomli-w"], env=uv_python)
    edits.append(Edit("pyproject.toml", '"tomli-w'))
    project.commit("Our own work")
    return edits


def resolve(project: Project, paths: list[str]) -> None:
    """Resolve each conflict by keeping the template's side (team lines: checked before)."""
    for name in paths:
        path = project.path / name
        kept: list[str] = []
        side = None
        for line in path.read_text().splitlines(keepends=True):
            if line.startswith("<<<<<<< "):
                side = "ours"
            elif line.startswith("=======") and side == "ours":
                side = "theirs"
            elif line.startswith(">>>>>>> "):
                side = None
            elif side != "ours":
                kept.append(line)
        path.write_text("".join(kept))


def dependencies(project: Project) -> set[str]:
    """Names in the [project] dependencies of pyproject.toml."""
    text = (project.path / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    return (
        set(re.findall(r'^\s*"([A-Za-z0-9_.-]+)', block.group(1), re.MULTILINE)) if block else set()
    )


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's history with its releases and older commits tagged, the working tree
    committed on top, then a commit of its own: the newest release updates to something too."""
    path = clone_template(tmp_path_factory.mktemp("history") / "template")
    git(path, "commit", "-q", "--allow-empty", "--no-verify", "-m", "After the releases")
    return path


def update(project: Project, *answers: str) -> tuple[int, str]:
    """Update to the working tree with the project's own `make template-update`."""
    data = " ".join(f"-d {answer}" for answer in answers)
    result = project.make(
        "template-update", f"COPIER_ARGS=--defaults --vcs-ref=HEAD {data}", check=False
    )
    return result.returncode, output(result)


@pytest.mark.parametrize("variant", ["defaults", "library"])
@pytest.mark.parametrize("source", SOURCES)
def test_update_from_a_release_keeps_the_teams_work(
    copie: Copie, history: Path, source: str, variant: str
) -> None:
    project = Renderer(copie, history).render(variant, vcs_ref=source)
    assert project.answers["_commit"] == source
    services = project.services
    project.make("setup")
    project.commit("Initial project")
    edits = team_edits(project)

    status, said = update(project)
    # Conflicts are reported and fail the update (an older release's own recipe does not
    # check: the template's check, which arrives with the update, does).
    conflicts = project.run(["python3", "scripts/template-update.py", "check"], check=False)
    listed = [line.split(":", 2)[1].strip() for line in conflicts.stderr.splitlines()]
    if listed and status == 0:
        assert source in OLDER_COMMITS, said
    assert project.answers["_commit"] != source
    assert (project.path / "scripts" / "template-update.py").is_file()
    # Every edit survived: inside a conflict's markers at worst, or kept as .orig and reported
    # when the template removed its file.
    for edit in edits:
        path = project.path / edit.path
        if not path.exists():
            path = path.with_name(path.name + ".orig")
            assert edit.path + ".orig" in listed, conflicts.stderr
        assert edit.text in path.read_text(), edit
    # No stack was added: the same services, none of their dependencies.
    assert project.services == services
    for service, package in STACK.items():
        assert (service in services) or (package not in dependencies(project)), package
    assert not MARKER.search((project.path / "uv.lock").read_text())

    resolve(project, [p for p in listed if not p.endswith((".rej", ".orig"))])
    for name in listed:
        if name.endswith(".orig"):
            (project.path / name).unlink()  # the team moved what it needed into settings.py
    project.make("sync")
    project.make("check")
    project.make("hello")
    project.commit("Update the template")

    # Updating again changes nothing.
    status, said = update(project)
    assert status == 0, said
    assert project.git("status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("variant", "answers"),
    [
        ("defaults", ["use_docker=false", "services=[postgres]", "auto_sync=false"]),
        ("everything-off", ["use_docker=true", "services=[redis,celery]", "auto_sync=true"]),
    ],
)
def test_changing_answers_on_update_ends_green(
    template: TemplateRepo, variant: str, answers: list[str]
) -> None:
    project = template.renderer.render(variant)
    project.make("setup")
    project.commit("Initial project")

    status, said = update(project, *answers)
    assert status == 0, said
    for answer in answers:
        question, value = answer.split("=")
        recorded = project.answers[question]
        expected = value.strip("[]").split(",") if value.startswith("[") else value == "true"
        assert recorded == expected
    assert (project.path / "Dockerfile").exists() == project.on("use_docker")
    assert (project.path / "scripts" / "auto-sync.py").exists() == project.on("auto_sync")
    assert (project.path / "compose.yaml").exists() == project.on("use_docker")
    project.make("check")


@pytest.mark.parametrize(
    ("question", "value", "says"),
    [
        (
            "project_type",
            "library",
            "project_type cannot change on update (this project is a service)",
        ),
        (
            "package_name",
            "other_name",
            'package_name cannot change on update (it is "acme_billing")',
        ),
    ],
)
def test_an_answer_that_cannot_change_is_refused_and_nothing_changes(
    template: TemplateRepo, question: str, value: str, says: str
) -> None:
    project = template.renderer.render()
    project.commit("Initial project")
    files = project.files()
    result = project.run(
        ["python3", "scripts/template-update.py", "run", "--defaults", "-d", f"{question}={value}"],
        check=False,
    )
    assert result.returncode == 2
    assert says in output(result)
    assert result.stderr.strip().splitlines()[-1] == (
        "template-update: error: copier update failed (see above); the project is as it was"
    )
    assert project.files() == files
    assert project.git("status", "--porcelain") == ""


def test_a_removed_file_the_team_changed_is_kept_and_reported(template: TemplateRepo) -> None:
    project = template.renderer.render("library")
    package = project.package
    log = project.path / "src" / package / "log.py"
    log.write_text(log.read_text() + "\n# Our tweak.\n")
    project.commit("Initial project, with our tweak")
    untouched = project.path / ".editorconfig"
    # v2 removes a module the team changed and a file it did not.
    template.remove("v2", "src/{{package_name}}/log.py.jinja", ".editorconfig")

    report = project.path.parent / "report.json"
    result = project.run(
        ["python3", "scripts/template-update.py", "run", "--report", str(report), "--defaults"],
        check=False,
    )
    assert result.returncode == 1, output(result)
    kept = project.path / "src" / package / "log.py.orig"
    assert (
        f"removed by the template: src/{package}/log.py; your version is src/{package}/log.py.orig"
        in result.stderr
    )
    assert kept.read_text().endswith("# Our tweak.\n")
    assert not log.exists()
    assert not untouched.exists()
    assert not (project.path / ".editorconfig.orig").exists()
    assert json.loads(report.read_text())["removed"] == [
        {"path": f"src/{package}/log.py", "kept": f"src/{package}/log.py.orig"}
    ]
    # make check's first gate fails until the team has dealt with it.
    check = project.run(["python3", "scripts/template-update.py", "check"], check=False)
    assert check.returncode == 1
    assert f"src/{package}/log.py.orig: kept by a template update" in check.stderr


# --- the crontab line of auto-sync, refreshed by every update (copier.yml's _migrations) ------

# A crontab stand-in: the table lives in $CRONTAB_FILE; none yet is "no crontab".
STAND_IN_CRONTAB = """#!/bin/sh
case "$1" in
  -l) [ -f "$CRONTAB_FILE" ] || { echo "no crontab for tester" >&2; exit 1; }
      cat "$CRONTAB_FILE" ;;
  -) cat > "$CRONTAB_FILE" ;;
  *) echo "usage: crontab -l | -" >&2; exit 2 ;;
esac
"""
# Lines of the user's own in the crontab, which an update never touches.
THEIRS = [
    "MAILTO=ops@example.com",
    "30 2 * * * /usr/bin/backup --all # someone else's job",
    "0 * * * * bash '/srv/other/scripts/auto-sync.sh' run >/dev/null 2>&1 # auto-sync: /srv/other",
]
CRON_PATH = "/usr/bin:/bin"
REFRESH = "scripts/auto-sync.py refresh"  # in copier's line for the migration it runs
AUTO_SYNC_SOURCE = "scripts/{% if auto_sync %}auto-sync.py{% endif %}.jinja"


@dataclass(frozen=True)
class Cron:
    """The stand-in crontab command and the file holding its table."""

    command: Path
    table: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment that makes the project's scripts use the stand-in."""
        return {"CRONTAB": str(self.command), "CRONTAB_FILE": str(self.table)}

    def lines(self) -> list[str]:
        """The table's lines."""
        return self.table.read_text().splitlines()


@pytest.fixture
def cron(tmp_path: Path) -> Cron:
    """A stand-in crontab, with no table yet."""
    command = tmp_path / "bin" / "crontab"
    command.parent.mkdir()
    command.write_text(STAND_IN_CRONTAB)
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return Cron(command, tmp_path / "table")


def marker(project: Project) -> str:
    """The end of the project's crontab line, in every release."""
    return f"# auto-sync: {project.path.resolve()}"


def with_upstream(project: Project) -> None:
    """Give the project a remote with its branch, so that a sync run has something to check."""
    remote = project.path.parent / f"{project.path.name}-remote.git"
    git(project.path.parent, "init", "-q", "--bare", str(remote))
    project.git("remote", "add", "origin", str(remote))
    project.git("push", "-q", "-u", "origin", "HEAD")


@pytest.mark.parametrize("source", ["v1.0.0", "v0.1.0"])
def test_an_installed_cron_line_is_refreshed_by_the_update(
    copie: Copie, history: Path, cron: Cron, tmp_path: Path, source: str
) -> None:
    """A project of a release whose auto-sync was bash, with its line installed: the update
    (the project's own template-update.py from 1.0.0, copier alone before) rewrites that line
    as `make setup-sync` now would, with the schedule changed on the way; nothing else."""
    project = Renderer(copie, history).render("library", vcs_ref=source)
    assert project.answers["sync_interval_hours"] == 6
    project.commit("Initial project")
    with_upstream(project)
    cron.table.write_text("\n".join(THEIRS[:2]) + "\n")
    project.run(["bash", "scripts/auto-sync.sh", "install"], env=cron.env)
    cron.table.write_text(cron.table.read_text() + THEIRS[2] + "\n")
    (old,) = [line for line in cron.lines() if line.endswith(marker(project))]
    assert old.startswith("0 */6 * * * /bin/bash "), old

    answers = ["--defaults", "--vcs-ref=HEAD", "-d", "sync_interval_hours=12"]
    if source == "v1.0.0":
        command = ["python3", "scripts/template-update.py", "run", *answers]
    else:  # its make template-update ran copier alone; the 1.0.0 migration finishes the job
        command = [str(BIN / "copier"), "update", "--trust", "--skip-tasks", *answers]
    result = project.run(command, env=cron.env, check=False)
    said = output(result)
    assert result.returncode == 0, said
    assert (project.path / "scripts" / "auto-sync.sh").exists()  # the shim old cron lines run
    assert ("template-update.py', 'finish'" in said) == (source == "v0.1.0"), said

    lines = cron.lines()
    assert len(lines) == len(THEIRS) + 1
    assert lines[:2] == THEIRS[:2]
    assert lines[3] == THEIRS[2]
    line = lines[2]
    assert f"auto-sync: crontab line refreshed: {line}" in said
    script = project.path.resolve() / "scripts" / "auto-sync.py"
    python = shlex.split(line.split(" ", 5)[5].replace("\\%", "%"))[0]
    assert line == (f"0 */12 * * * '{python}' '{script}' run >/dev/null 2>&1 {marker(project)}")
    # An interpreter that outlives the update: copier's own Python may be an ephemeral
    # environment in uv's cache (uv tool run), which the line must not name.
    assert Path(python).is_absolute()
    assert not (Path(python).parent.parent / "pyvenv.cfg").exists(), python
    uv_cache = Path(subprocess.run([str(BIN / "uv"), "cache", "dir"], capture_output=True,
                                   text=True, check=True).stdout.strip())  # fmt: skip
    assert not Path(python).resolve().is_relative_to(uv_cache.resolve()), python

    # The line runs as cron runs it: /bin/sh, cron's PATH, from /.
    project.commit("Update the template")
    home = tmp_path / "home"
    home.mkdir()
    cron_env = {"PATH": CRON_PATH, "HOME": str(home), "SHELL": "/bin/sh"}
    command_part = line.split(" ", 5)[5].replace("\\%", "%")
    ran = subprocess.run(["/bin/sh", "-c", command_part], cwd="/", env=cron_env, check=False)
    log = (project.path / "logs" / "auto-sync.log").read_text()
    assert ran.returncode == 0, log
    assert log.splitlines()[-1].split(" ", 2)[1] == "OK", log
    status = project.run(["python3", "scripts/auto-sync.py", "status"], env=cron.env)
    assert f"cron:     installed: {line}" in status.stdout
    assert "will fail" not in status.stdout


@pytest.mark.parametrize("crontab", ["no line", "no crontab command"])
def test_an_update_without_a_cron_line_leaves_cron_alone(
    template: TemplateRepo, cron: Cron, crontab: str
) -> None:
    project = template.renderer.render("library")
    project.commit("Initial project")
    template.release("v2", "README.md.jinja", "\n", "\n\n")
    env = cron.env if crontab == "no line" else {"CRONTAB": str(cron.command.parent / "none")}
    result = project.run(
        ["python3", "scripts/template-update.py", "run", "--defaults"], env=env, check=False
    )
    said = output(result)
    assert result.returncode == 0, said
    assert project.answers["_commit"] == "v2"
    assert REFRESH in said  # the migration ran ...
    assert not [line for line in said.splitlines() if "auto-sync" in line and REFRESH not in line]
    assert not cron.table.exists()  # never written: still "no crontab"


def test_a_refresh_that_fails_never_fails_the_update(template: TemplateRepo, cron: Cron) -> None:
    """auto-sync.py left with conflict markers by the update cannot run: the update still ends
    (the conflict listed), says the line was not refreshed, and the table is as it was."""
    project = template.renderer.render("library")
    script = project.path / "scripts" / "auto-sync.py"
    project.run(["python3", str(script), "install"], env=cron.env)
    cron.table.write_text("\n".join([THEIRS[0], *cron.lines(), THEIRS[1]]) + "\n")
    table = cron.table.read_text()
    script.write_text(script.read_text().replace("LOG_KEEP = 3", "LOG_KEEP = 5", 1))
    project.commit("Initial project, keeping more logs")
    template.release("v2", AUTO_SYNC_SOURCE, "LOG_KEEP = 3", "LOG_KEEP = 4")
    result = project.run(
        ["python3", "scripts/template-update.py", "run", "--defaults"], env=cron.env, check=False
    )
    said = output(result)
    assert result.returncode == 1, said
    assert "template-update: conflict: scripts/auto-sync.py" in said
    assert "auto-sync: crontab line not refreshed (see above)" in said
    assert cron.table.read_text() == table
