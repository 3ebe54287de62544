"""A smoke run of benchmarks/bench.py, so `make bench` cannot rot. It checks the shape of the
figures, never their values: speed is measured by `make bench`, not asserted by tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import images
from helpers import ROOT, load_module

bench = load_module(ROOT / "benchmarks" / "bench.py")


def test_gate_names() -> None:
    assert bench.gate_name("UV_PYTHON=/p/.venv/bin/python .venv/bin/uv lock --check") == (
        "uv lock --check"
    )
    assert bench.gate_name(".venv/bin/ruff format --check .") == "ruff format"
    assert bench.gate_name(".venv/bin/bandit -q -c pyproject.toml -r src") == "bandit"
    assert bench.gate_name("UV=u .venv/bin/python scripts/template-update.py check") == (
        "template-update"
    )


def test_unknown_variant_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--variants", "nope"])
    assert "unknown variants ['nope']" in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_run_writes_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bench.json"
    args = ["--runs", "1", "--green-runs", "1", "--variants", "library", "--no-warmup"]
    args += ["--image-runs", "0"]  # test_image_part_builds_and_rebuilds covers the image part
    assert bench.main([*args, "--json", str(output)]) == 0
    report = json.loads(output.read_text())
    assert set(report["machine"]) >= {"cpus", "python", "uv", "copier", "template_commit"}
    assert set(report["render"]["library"]) == {"median", "min", "max", "runs"}
    assert report["render_floor"]["runs"] == 1
    phases = report["render_to_green"]["library"]
    assert list(phases) == [
        "render", "setup", "template-update", "uv lock --check", "ruff check", "ruff format",
        "mypy", "bandit", "check-specs", "pytest", "total",
    ]  # fmt: skip
    assert phases["total"]["median"] >= phases["setup"]["median"]
    assert report["image"] == {}
    out = capsys.readouterr().out
    assert "render-to-green: library" in out
    assert "copier alone (1-file template)" in out


def test_image_figures_are_tabulated() -> None:
    figures = {"median": 1.0, "min": 1.0, "max": 1.0, "runs": 1}
    report = {
        "machine": {"cpus": 2, "python": "3.11", "uv": "uv", "copier": "copier"},
        "render": {}, "render_to_green": {},
        "image": {**dict.fromkeys(bench.IMAGE_FIGURES, figures), "storage_driver": "vfs"},
    }  # fmt: skip
    text = bench.table(report)
    assert "service image (buildah, vfs storage; median of 1 runs)" in text
    assert all(name in text for name in bench.IMAGE_FIGURES)


# With test_image.py's builds, on one worker: the two share buildah's storage and caches.
@pytest.mark.slow
@pytest.mark.xdist_group("image")
def test_image_part_builds_and_rebuilds(tmp_path: Path) -> None:
    images.require_buildah()
    figures = bench.image_build(tmp_path, 0)
    assert set(figures) == set(bench.IMAGE_FIGURES)
    assert figures["dependency_layer_reused"] == 1.0
    assert figures["image_size_mb"] > 0
    assert images.inspect_image(bench.IMAGE_TAG) is None  # cleaned up
