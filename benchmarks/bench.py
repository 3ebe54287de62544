"""Benchmark the template: render time and render-to-green per variant, and the service image.

Usage: python benchmarks/bench.py [--runs 5] [--green-runs 3] [--variants defaults,library]
                                  [--image-runs 1] [--json PATH] [--no-warmup]
`make bench` runs it with the template's dev environment. Figures are wall-clock seconds on
this machine; docs/performance.md explains them. It measures and reports; it never fails on a
time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess  # nosec B404 # runs fixed tools (copier, bash, make) without a shell
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The test suite's harness: its variants (tests/variants.yml), identity and user environment.
sys.path.insert(0, str(ROOT / "tests"))
from helpers import BIN, clean_env, load_extension  # noqa: E402
from project import BASE_ANSWERS, VARIANTS  # noqa: E402


def tool(name: str) -> str:
    """Return the path of a program on PATH, or fail with its name."""
    path = shutil.which(name, path=clean_env()["PATH"])
    if path is None:
        raise RuntimeError(f"{name} not found on PATH")
    return path


def run(command: Sequence[str], cwd: Path) -> float:
    """Run a command; return its wall-clock seconds; raise with its output when it fails."""
    started = time.perf_counter()
    result = subprocess.run(  # nosec B603 # argument list, no shell
        list(command), cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"{shlex.join(command)} exited {result.returncode} in {cwd}\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return elapsed


def render(
    dest: Path, variant: str, *, tasks: bool = False, answers: dict[str, str] | None = None
) -> float:
    """`copier copy` of the working tree; seconds.

    Without `tasks`, copier skips the post-generation task (what the render figure measures);
    with them, the task runs `git init` and skips only the setup, which is timed on its own.
    `answers` override the variant's.
    """
    data = {**BASE_ANSWERS, **VARIANTS[variant], **(answers or {}), "skip_setup": True}
    # A data file keeps each answer's type (a list of services, "3.10" as text).
    answers_file = dest.parent / f"{dest.name}-answers.yml"
    answers_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    command = [*COPY, *([] if tasks else ["--skip-tasks"]), f"--data-file={answers_file}"]
    return run([*command, str(ROOT), str(dest)], ROOT)


COPY = [str(BIN / "copier"), "copy", "--trust", "--defaults", "--quiet", "--vcs-ref=HEAD"]


def floor_template(workdir: Path) -> Path:
    """Make a git template of one question and one file: copier's own cost, before ours."""
    template = workdir / "floor-template"
    (template / "t").mkdir(parents=True)
    (template / "copier.yml").write_text("_subdirectory: t\nname:\n  type: str\n  default: x\n")
    (template / "t" / "name.txt.jinja").write_text("{{ name }}\n")
    # Whatever the user's git config says, no signing prompt and no hooks.
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.com",
                "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]  # fmt: skip
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "floor"]):
        run([tool("git"), *args], template)
    return template


def check_gates(project: Path) -> list[str]:
    """Return the commands `make check` runs, read from the Makefile itself (`make -n`)."""
    result = subprocess.run(  # nosec B603 # fixed arguments
        [tool("make"), "-n", "check"], cwd=project, env=clean_env(), capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return [line for line in result.stdout.splitlines() if line and not line.startswith("make")]


def gate_name(command: str) -> str:
    """Label a gate command briefly: `uv lock --check`, `ruff format`, `mypy`, and so on."""
    words = [word.rsplit("/", 1)[-1] for word in shlex.split(command) if "=" not in word]
    tool = words[0]
    if tool == "python" and len(words) > 1:  # a script of the project: its name
        return words[1].removesuffix(".py")
    if tool in {"uv", "ruff"} and len(words) > 1:
        extra = " --check" if tool == "uv" and "--check" in words else ""
        return f"{tool} {words[1]}{extra}"
    return tool


def render_to_green(workdir: Path, variant: str) -> dict[str, float]:
    """Render, set up and pass every gate; seconds for each phase."""
    project = workdir / f"green-{variant}"
    phases = {"render": render(project, variant, tasks=True)}
    phases["setup"] = run([tool("bash"), "scripts/setup.sh"], project)
    for command in check_gates(project):
        phases[gate_name(command)] = run([tool("bash"), "-c", command], project)
    phases["total"] = sum(phases.values())
    shutil.rmtree(project)
    return phases


# The image is built from the stand-in base images of tests/images.py: Debian's Python 3.11.
IMAGE_ANSWERS = {"python_version": "3.11", "python_min_version": "3.11"}
IMAGE_TAG = "localhost/bench-service:latest"


def buildah_usable() -> bool:
    """Say whether buildah, debootstrap and root are there, as tests/images.py needs them."""
    return bool(shutil.which("buildah") and shutil.which("debootstrap")) and os.geteuid() == 0


def images_module() -> ModuleType:
    """tests/images.py, the tests' buildah recipe: imported only when images are measured."""
    return importlib.import_module("images")


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds of `action()`."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def image_build(workdir: Path, run_number: int) -> dict[str, float]:
    """Time the defaults' image: cold builds, an unchanged build, the rebuild after one edit."""
    images = images_module()
    uv_version = load_extension().uv_version()

    project = workdir / f"image-{run_number}"
    render(project, "defaults", answers=IMAGE_ANSWERS)
    run([str(BIN / "uv"), "lock", "--quiet"], project)
    images.stand_in_python_image(IMAGE_ANSWERS["python_version"])
    images.stand_in_uv_image(uv_version)
    images.remove_image(IMAGE_TAG)

    def build(*extra: str, **env: str) -> subprocess.CompletedProcess[str]:
        result: subprocess.CompletedProcess[str] = images.build(project, IMAGE_TAG, *extra, env=env)
        return result

    # buildah keeps RUN cache mounts (uv's downloads) under TMPDIR: a fresh one starts them
    # empty, as on a new machine, and keeps every build here off the machine's shared cache.
    with tempfile.TemporaryDirectory(prefix="buildah-tmp-", dir=workdir) as fresh:
        cold = timed(lambda: build("--no-cache", TMPDIR=fresh))
        cold_warm_downloads = timed(lambda: build("--no-cache", TMPDIR=fresh))
        build(TMPDIR=fresh)  # an ordinary build, so the layer cache surely holds this tree
        unchanged = timed(lambda: build(TMPDIR=fresh))
        module = next((project / "src").glob("*/app.py"))
        # A change no earlier run made, or buildah's layer cache would serve it.
        module.write_text(f"{module.read_text()}# {uuid.uuid4().hex}\n")
        started = time.perf_counter()
        result = build(TMPDIR=fresh)
        rebuild = time.perf_counter() - started
    steps = images.cached_steps(result.stdout + result.stderr)
    reused = [cached for step, cached in steps.items() if "--no-install-project" in step]
    figures = {
        "cold_build": cold,
        "cold_build_warm_downloads": cold_warm_downloads,
        "build_unchanged": unchanged,
        "rebuild_after_source_change": rebuild,
        "rebuild_share_of_cold": rebuild / cold,
        "rebuild_share_of_cold_warm_downloads": rebuild / cold_warm_downloads,
        "image_size_mb": images.image_size(IMAGE_TAG) / 1e6,
        "dependency_layer_reused": float(bool(reused) and all(reused)),
    }
    images.remove_image(IMAGE_TAG)
    shutil.rmtree(project)
    return figures


IMAGE_FIGURES = (
    "cold_build", "cold_build_warm_downloads", "build_unchanged", "rebuild_after_source_change",
    "rebuild_share_of_cold", "rebuild_share_of_cold_warm_downloads", "image_size_mb",
    "dependency_layer_reused",
)  # fmt: skip


def summary(samples: list[float]) -> dict[str, float]:
    """Median, min and max, in seconds, rounded to milliseconds."""
    return {
        "median": round(statistics.median(samples), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
        "runs": len(samples),
    }


def repeat(times: int, warmup: bool, measure: Callable[[int], float]) -> list[float]:
    """Call `measure(i)` `times` times after an optional unmeasured warm-up."""
    if warmup:
        measure(-1)
    return [measure(i) for i in range(times)]


def version_of(command: Sequence[str]) -> str:
    """First line a tool prints for its version, or "absent"."""
    try:
        result = subprocess.run(  # nosec B603 # fixed argument list
            list(command), capture_output=True, text=True, check=False, env=clean_env()
        )
    except OSError:
        return "absent"
    return (
        (result.stdout or result.stderr).strip().splitlines()[0]
        if result.returncode == 0
        else "absent"
    )


def machine() -> dict[str, Any]:
    """Facts that explain the figures."""
    commit = subprocess.run(  # nosec B603 # fixed arguments
        [tool("git"), "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "uv": version_of([str(BIN / "uv"), "--version"]),
        "copier": version_of([str(BIN / "copier"), "--version"]),
        "make": version_of([tool("make"), "--version"]),
        "template_commit": commit,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def table(report: dict[str, Any]) -> str:
    """Format the figures as a plain-text table."""
    lines = [f"machine: {report['machine']['cpus']} CPUs, Python {report['machine']['python']}, "
             f"{report['machine']['uv']}, {report['machine']['copier']}", "",
             "render (copier copy, no tasks)    median     min     max   runs"]  # fmt: skip
    floor = report.get("render_floor")
    rows = {**({"copier alone (1-file template)": floor} if floor else {}), **report["render"]}
    for variant, figures in rows.items():
        lines.append(f"  {variant:<30} {figures['median']:7.3f} {figures['min']:7.3f} "
                     f"{figures['max']:7.3f} {figures['runs']:6d}")  # fmt: skip
    for variant, phases in report["render_to_green"].items():
        lines += ["", f"render-to-green: {variant} (median of {phases['total']['runs']} runs)"]
        for phase, figures in phases.items():
            lines.append(f"  {phase:<30} {figures['median']:7.3f}")
    if report["image"]:
        image = report["image"]
        lines += ["", f"service image (buildah, {image['storage_driver']} storage; median of "
                  f"{image['cold_build']['runs']} runs)"]  # fmt: skip
        for name in IMAGE_FIGURES:
            lines.append(f"  {name:<38} {image[name]['median']:7.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured renders per variant")
    parser.add_argument("--green-runs", type=int, default=3, help="render-to-green runs (0: skip)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    parser.add_argument(
        "--image-runs", type=int, default=1,
        help="rounds of service image builds (cold, unchanged, after a one-line change); "
        "0: skip; needs buildah",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-warmup", action="store_true", help="measure the first run too")
    args = parser.parse_args(argv)
    variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {sorted(VARIANTS)}")
    warmup = not args.no_warmup

    report: dict[str, Any] = {
        "machine": machine(), "render_floor": {}, "render": {}, "render_to_green": {},
        "image": {},
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-") as temp:
        workdir = Path(temp)
        floor = floor_template(workdir)

        def measure_floor(i: int) -> float:
            dest = workdir / f"render-floor-{i}"
            seconds = run([*COPY, "--skip-tasks", str(floor), str(dest)], workdir)
            shutil.rmtree(dest)
            return seconds

        report["render_floor"] = summary(repeat(args.runs, warmup, measure_floor))
        for variant in variants:

            def measure(i: int, variant: str = variant) -> float:
                dest = workdir / f"render-{variant}-{i}"
                seconds = render(dest, variant)
                shutil.rmtree(dest)
                return seconds

            report["render"][variant] = summary(repeat(args.runs, warmup, measure))
        for variant in variants if args.green_runs > 0 else []:
            if warmup:
                render_to_green(workdir, variant)  # fills uv's cache
            runs = [render_to_green(workdir, variant) for _ in range(args.green_runs)]
            report["render_to_green"][variant] = {
                phase: summary([r[phase] for r in runs]) for phase in runs[0]
            }
        if args.image_runs > 0 and not buildah_usable():
            print("image: skipped (needs buildah, debootstrap and root; see tests/images.py)")
        elif args.image_runs > 0:
            builds = [image_build(workdir, n) for n in range(args.image_runs)]
            report["image"] = {name: summary([b[name] for b in builds]) for name in builds[0]}
            report["image"]["storage_driver"] = images_module().storage()
    print(table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
