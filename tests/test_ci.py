""".ci/run, the template's CI entry point, as root here and through sudo on GitHub's hosted
runners; the parts of the suite its CI jobs run (one per variant, the stack, the rest), which
together run every test once; and the workflow that runs them (.github/workflows/ci.yml)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import ROOT, run
from project import QUESTIONS, VARIANTS

# Fakes on an otherwise bare PATH: each records its argv (and whether it ran as "root").
RECORDER = """#!/bin/sh
echo "{name} $*" >> "$CALLS"
{body}
"""

# A passwordless sudo: runs its command.
SUDO = '[ "$1" = -n ] && shift; exec "$@"'

PYTHON_QUESTIONS = ("python_version", "python_min_version")


def tool(folder: Path, name: str, body: str = "exit 0") -> None:
    """Write a fake `name` that records its call, then runs `body`."""
    path = folder / name
    path.write_text(RECORDER.format(name=name, body=body), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def ci_run(tmp_path: Path, *args: str, uid: int, sudo: str | None) -> tuple[int, str, list[str]]:
    """Run .ci/run `args` with nothing it installs on PATH, as user `uid`; sudo answers with
    `sudo` (None: no sudo at all). `make` is a fake: the suite itself is not run. Returns the
    exit status, stderr and the recorded calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("dirname", "ls", "env", "true"):
        real = shutil.which(name)
        assert real is not None
        (bin_dir / name).symlink_to(real)
    tool(bin_dir, "id", f"echo {uid}")
    tool(bin_dir, "apt-get")
    tool(bin_dir, "make")
    if sudo is not None:
        tool(bin_dir, "sudo", sudo)
    calls = tmp_path / "calls.txt"
    result = subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(ROOT / ".ci" / "run"), *args],
        env={"PATH": str(bin_dir), "CALLS": str(calls), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    recorded = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    return result.returncode, result.stderr, recorded


def test_as_root_it_installs_with_apt_get_then_runs_the_suite(tmp_path: Path) -> None:
    status, err, calls = ci_run(tmp_path, uid=0, sudo=None)
    assert status == 0, err
    assert "apt-get update -qq" in calls
    install = next(call for call in calls if call.startswith("apt-get install"))
    for package in ("nodejs", "npm", "redis-server", "buildah", "debootstrap", "postgresql"):
        assert f" {package}" in install
    assert calls[-1] == "make test"
    assert not [call for call in calls if call.startswith("sudo")]


def test_as_a_user_with_sudo_a_part_without_images_installs_through_sudo(
    tmp_path: Path,
) -> None:
    status, err, calls = ci_run(tmp_path, "--rest", uid=1001, sudo=SUDO)
    assert status == 0, err
    assert "sudo -n true" in calls
    assert "sudo -n apt-get update -qq" in calls
    assert any(call.startswith("sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install")
               for call in calls)  # fmt: skip
    assert calls[-1] == "make test-rest"


@pytest.mark.parametrize("sudo", [None, "exit 1", SUDO], ids=["no-sudo", "sudo-asks", "sudo"])
@pytest.mark.parametrize("args", [[], ["--stack"]], ids=["suite", "stack"])
def test_as_a_user_the_image_tests_are_refused_in_one_line(
    tmp_path: Path, sudo: str | None, args: list[str]
) -> None:
    """Never through sudo from here: root's files would stay in the user's checkout."""
    status, err, calls = ci_run(tmp_path, *args, uid=1001, sudo=sudo)
    assert status == 1
    again = " ".join(["sudo -n -H bash .ci/run", *args])
    assert err == (
        f"ci: the image tests need root: run {again}, or a part without them "
        "(--variant NAME, --rest)\n"
    )
    assert calls == ["id -u"]


@pytest.mark.parametrize("sudo", [None, "exit 1"], ids=["no-sudo", "sudo-asks-a-password"])
def test_without_root_or_sudo_it_says_what_to_install_in_one_line(
    tmp_path: Path, sudo: str | None
) -> None:
    status, err, calls = ci_run(tmp_path, "--rest", uid=1001, sudo=sudo)
    assert status == 1
    assert err.startswith("ci: missing nodejs npm")
    assert err.rstrip().endswith("install them (apt-get needs root, or sudo without a password)")
    assert len(err.strip().splitlines()) == 1
    assert not [call for call in calls if "apt-get" in call or call.startswith("make")]


# As root and through sudo (uid, what sudo does): what a part installs, and its make target.
AS: dict[str, tuple[int, str | None]] = {
    "root": (0, None),
    "sudo": (1001, SUDO),
}
STACK_PACKAGES = ("redis-server", "buildah", "debootstrap", "postgresql", "sqlite3")


@pytest.mark.parametrize("user", sorted(AS))
@pytest.mark.parametrize(
    ("args", "target", "stack"),
    [
        (["--variant", "library"], "make test-variant VARIANT=library", False),
        (["--stack"], "make test-stack", True),
        (["--rest"], "make test-rest", False),
    ],
    ids=["variant", "stack", "rest"],
)
def test_a_part_runs_its_target_after_installing_what_it_needs(
    tmp_path: Path, args: list[str], target: str, stack: bool, user: str
) -> None:
    """Only the stack's part needs the servers and buildah, and root; every part needs
    Node.js."""
    uid, sudo = AS[user]
    status, err, calls = ci_run(tmp_path, *args, uid=uid, sudo=sudo)
    if stack and user == "sudo":  # refused: see the test above
        assert status == 1
        return
    assert status == 0, err
    install = next(call for call in calls if "apt-get install" in call)
    assert install.startswith("sudo -n env" if user == "sudo" else "apt-get install")
    assert " nodejs npm" in install
    for package in STACK_PACKAGES:
        assert (f" {package}" in install) == stack, package
    assert calls[-1] == target


@pytest.mark.parametrize(
    "args",
    [["--variant"], ["--variant", ""], ["--variant", "a", "b"], ["--stack", "x"], ["--all"], ["x"]],
)
def test_a_wrong_part_is_refused_with_the_usage_before_anything_runs(
    tmp_path: Path, args: list[str]
) -> None:
    status, err, calls = ci_run(tmp_path, *args, uid=0, sudo=None)
    assert status == 2
    assert err == "usage: bash .ci/run [--variant NAME | --stack | --rest]\n"
    assert calls == []


# --- The parts of the suite --------------------------------------------------------------------


def collect(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """pytest --collect-only of the suite with `args` and `env` added (no test runs)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-p", "no:xdist", *args],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "PYTEST_ADDOPTS": "", **env},
    )  # fmt: skip


def collected(*args: str) -> list[str]:
    """The ids of the tests pytest collects with `args` (none may fail to collect)."""
    result = collect(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "::" in line]


def make_selection(target: str, *variables: str) -> list[str]:
    """The pytest arguments `make TARGET` selects its tests with: its recipe as `make -n` prints
    it, without the workers' options (-n auto --dist loadgroup)."""
    printed = run(["make", "-n", target, *variables], ROOT).stdout
    line = next(line for line in printed.splitlines() if "/bin/pytest " in line)
    words = shlex.split(line)[1:]
    assert words[:4] == ["-n", "auto", "--dist", "loadgroup"], line
    return words[4:]


# Records each test's string parameters at collection: which variants a test takes is read
# from its parameters, not guessed from its id ("library-proprietary" is no variant).
PARAMS_PLUGIN = """
import json, os

def pytest_collection_finish(session):
    with open(os.environ["TEST_PARAMS_OUT"], "w", encoding="utf-8") as out:
        for item in session.items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            strings = [value for value in params.values() if isinstance(value, str)]
            out.write(json.dumps([item.nodeid, strings]) + "\\n")
"""


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Every test of the suite, as `make test` collects it, with its string parameters."""
    folder = tmp_path_factory.mktemp("params")
    (folder / "record_params.py").write_text(PARAMS_PLUGIN, encoding="utf-8")
    out = folder / "params.jsonl"
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    result = collect("-p", "record_params", TEST_PARAMS_OUT=str(out), PYTHONPATH=path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    recorded = dict(json.loads(line) for line in lines)
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    assert sorted(recorded) == sorted(ids)  # the ids -q prints are the node ids
    return recorded


def takes(params: list[str], variant: str) -> bool:
    """Whether a test with these string parameters runs for `variant`."""
    return variant in params


def module_of(test_id: str) -> str:
    """The file name of a test id's module."""
    return Path(test_id.split("::", 1)[0]).name


def test_an_unknown_variant_is_refused_with_the_names_to_pick() -> None:
    result = collect("--variant", "nope")
    assert result.returncode != 0
    assert f"unknown variant nope: pick one of {', '.join(VARIANTS)}" in result.stderr


def test_the_parts_ci_runs_hold_every_test_exactly_once(everything: dict[str, list[str]]) -> None:
    """make test-variant for each variant, test-stack and test-rest, as their recipes select:
    each variant's part is every test of that variant, the stack and the rest split the tests
    of no variant, and together they are the suite, each test in one part."""
    parts = {name: make_selection("test-variant", f"VARIANT={name}") for name in VARIANTS}
    parts["stack"] = make_selection("test-stack")
    parts["rest"] = make_selection("test-rest")
    with ThreadPoolExecutor(max_workers=2) as pool:
        chosen = dict(
            zip(parts, pool.map(lambda args: collected(*args), parts.values()), strict=True)
        )
    for name in VARIANTS:
        expected = [test for test, params in everything.items() if takes(params, name)]
        assert chosen[name], name
        assert sorted(chosen[name]) == sorted(expected), name
    of_no_variant = [
        test for test, params in everything.items() if not any(takes(params, v) for v in VARIANTS)
    ]
    assert chosen["stack"]
    assert chosen["rest"]
    assert sorted(chosen["stack"] + chosen["rest"]) == sorted(of_no_variant)
    every_part = [test for ids in chosen.values() for test in ids]
    assert sorted(every_part) == sorted(everything)  # the whole suite, each test once
    # The stack's part is the tests of the modules that start servers or build images: each of
    # them imports tests/servers.py or tests/images.py, and no module of the rest does.
    harness = re.compile(r"^(from|import) (servers|images)\b", re.MULTILINE)
    stack_modules = {module_of(test_id) for test_id in chosen["stack"]}
    assert {"test_service.py", "test_image.py"} <= stack_modules
    for module in {module_of(test_id) for test_id in everything}:
        source = (ROOT / "tests" / module).read_text(encoding="utf-8")
        assert bool(harness.search(source)) == (module in stack_modules), module


def test_no_variant_with_a_variant_keeps_both(everything: dict[str, list[str]]) -> None:
    both = collected("--variant", "library", "--no-variant")
    assert sorted(both) == sorted(
        test
        for test, params in everything.items()
        if takes(params, "library") or not any(takes(params, v) for v in VARIANTS)
    )


# --- The workflow ------------------------------------------------------------------------------

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def workflow() -> dict[str, Any]:
    """The template's own CI workflow."""
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def runs(job: dict[str, Any]) -> list[str]:
    """The `run:` scripts of a job's steps, in order."""
    return [step["run"] for step in job["steps"] if "run" in step]


def test_the_matrix_is_the_list_of_variants_the_tests_take() -> None:
    printed = run([sys.executable, str(ROOT / ".ci" / "variants.py")], ROOT).stdout
    assert json.loads(printed) == list(VARIANTS)
    jobs = workflow()["jobs"]
    matrix = jobs["matrix"]
    (reader,) = [step for step in matrix["steps"] if ".ci/variants.py" in step.get("run", "")]
    assert "variants=$(.venv/bin/python .ci/variants.py)" in reader["run"]
    assert matrix["outputs"]["variants"] == f"${{{{ steps.{reader['id']}.outputs.variants }}}}"
    variant = jobs["variant"]
    assert variant["needs"] == "matrix"
    assert variant["strategy"]["fail-fast"] is False
    assert variant["strategy"]["matrix"] == {
        "variant": "${{ fromJSON(needs.matrix.outputs.variants) }}"
    }


def test_each_test_job_runs_its_part_through_ci_run() -> None:
    jobs = workflow()["jobs"]
    assert set(jobs) == {"matrix", "variant", "stack", "rest", "macos", "lint"}
    (step,) = [step for step in jobs["variant"]["steps"] if "run" in step]
    assert step["run"] == 'bash .ci/run --variant "$VARIANT"'
    assert step["env"] == {"VARIANT": "${{ matrix.variant }}"}
    # The stack as root: sudo without a password, and root's HOME.
    assert runs(jobs["stack"]) == ["sudo -n -H bash .ci/run --stack"]
    assert runs(jobs["rest"]) == ["bash .ci/run --rest"]
    assert runs(jobs["lint"]) == ["make lint"]
    for name in ("variant", "stack", "rest"):  # the release and update tests need the history
        checkout = next(s for s in jobs[name]["steps"] if "checkout" in s.get("uses", ""))
        assert checkout["with"]["fetch-depth"] == 0, name
    # Each variant's preferred and minimum Python on PATH, as setup looks for them; the
    # runner's own 3.12 stays python3.
    pythons = {str(QUESTIONS[question]["default"]) for question in PYTHON_QUESTIONS}
    pythons |= {str(v[q]) for v in VARIANTS.values() for q in PYTHON_QUESTIONS if q in v}
    for name in ("variant", "rest"):
        setup = next(s for s in jobs[name]["steps"] if "setup-python" in s.get("uses", ""))
        listed = setup["with"]["python-version"].split()
        assert set(listed) >= pythons, name
        assert listed[-1] == "3.12", name


def test_every_job_is_bounded_and_can_only_read() -> None:
    flow = workflow()
    assert flow["permissions"] == {"contents": "read"}
    assert flow["concurrency"]["cancel-in-progress"] is True
    pinned = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
    for name, job in flow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), name
        assert 0 < job["timeout-minutes"] <= 45, name
        assert set(job.get("permissions", {}).values()) <= {"read", "none"}, name
        for step in job["steps"]:
            if "uses" in step:
                assert pinned.match(step["uses"]), step["uses"]
            if "actions/checkout@" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False, name


def test_the_macos_job_runs_the_system_bash_and_make() -> None:
    job = workflow()["jobs"]["macos"]
    assert job["runs-on"] == "macos-15"
    # Every step's own shell is the system bash, whatever PATH finds first.
    assert job["defaults"]["run"]["shell"].startswith("/bin/bash ")
    steps: list[dict[str, Any]] = job["steps"]

    def index(predicate: str) -> int:
        """The position of the (one) step whose `run` or `uses` holds `predicate`."""
        (found,) = [n for n, s in enumerate(steps) if predicate in s.get("run", s.get("uses", ""))]
        return found

    links = steps[index('echo "$tools" >> "$GITHUB_PATH"')]["run"]
    assert 'ln -s /bin/bash "$tools/bash"' in links
    assert 'ln -s /usr/bin/make "$tools/make"' in links
    # The versions are checked (and shown) once PATH has the links, before anything runs.
    check = index("bash .ci/expect-tools 3.2 3.81")
    assert index("$GITHUB_PATH") < check < index("make dev")
    assert index("actions/setup-python@") < index("make dev") < index("make new DEST=")
    project = steps[index("make doctor")]
    assert index("make new DEST=") < index("make doctor")
    assert project["working-directory"] == "${{ runner.temp }}/demo"
    assert 'make new DEST="$RUNNER_TEMP/demo"' in steps[index("make new DEST=")]["run"]
    commands = [line.strip() for line in project["run"].splitlines()]
    targets = [c for c in commands if re.fullmatch(r"(doctor=\$\()?make \w+\)?", c)]
    assert targets == ["make setup", "make check", "make help", "doctor=$(make doctor)"]
    assert 'grep -q "GNU Make 3.81" <<<"$doctor"' in commands
    tests = steps[index("tests/test_auto_sync.py")]["run"].split()
    assert tests[-2:] == ["tests/test_auto_sync.py", "tests/test_setup.py"]
    assert index("tests/test_auto_sync.py") > index("make doctor")


def expect_tools(*versions: str, path: Sequence[Path] = ()) -> subprocess.CompletedProcess[str]:
    """Run .ci/expect-tools with `versions`, with `path` first on PATH."""
    env = {**os.environ, "PATH": os.pathsep.join([*map(str, path), os.environ["PATH"]])}
    env.pop("MAKEFLAGS", None)
    return subprocess.run(
        ["/bin/bash", str(ROOT / ".ci" / "expect-tools"), *versions],
        capture_output=True, text=True, check=False, timeout=60, env=env,
    )  # fmt: skip


def test_expect_tools_fails_unless_make_runs_the_expected_bash(tmp_path: Path) -> None:
    """Run for real: this machine's bash and make pass for their versions and fail the macOS
    job's; a bash first on PATH is what `SHELL := bash` recipes run."""
    bash = subprocess.run(
        ["bash", "-c", 'echo "${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}"'],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    make = run(["make", "--version"], ROOT).stdout.split()[2]
    here = expect_tools(bash, make)
    assert here.returncode == 0, here.stdout + here.stderr
    assert f"make runs recipes of SHELL := bash as: GNU Make {make}, bash {bash}." in here.stdout
    assert "GNU bash, version" in here.stdout  # the versions are shown in the log
    assert f"GNU Make {make}" in here.stdout

    macos = expect_tools("3.2", "3.81")
    assert macos.returncode == 1
    assert macos.stderr.startswith(
        f"expect-tools: expected GNU Make 3.81 running bash 3.2.x, found GNU Make {make} "
        f"running bash {bash}."
    )
    # A stand-in bash 3.2 first on PATH: make's recipes run it, and only the make is wrong.
    stand_in = tmp_path / "bin"
    stand_in.mkdir()
    (stand_in / "bash").write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        '  --version) echo "GNU bash, version 3.2.57(1)-release (stand-in)" ;;\n'
        "  -c) shift; BASH_VERSION='3.2.57(1)-release' exec /bin/sh -c \"$@\" ;;\n"
        "esac\n",
        encoding="utf-8",
    )
    (stand_in / "bash").chmod(0o755)
    on_path = expect_tools("3.2", make, path=[stand_in])
    assert on_path.returncode == 0, on_path.stdout + on_path.stderr
    assert f"GNU Make {make}, bash 3.2.57(1)-release" in on_path.stdout
    assert expect_tools("3.2", "3.81", path=[stand_in]).returncode == 1
    assert expect_tools("3.2").returncode == 2
