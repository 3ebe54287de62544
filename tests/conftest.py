"""Fixtures shared by the test modules: renders of the variants, and a template repository."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from pytest_copie.plugin import Copie

from helpers import copy_template
from project import VARIANTS, Project, Renderer, TemplateRepo


def pytest_addoption(parser: pytest.Parser) -> None:
    """--variant NAME: run only the tests of that variant (make test-variant VARIANT=NAME);
    --no-variant: only the tests that take none. Together they choose the union."""
    parser.addoption(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only the tests of this variant of tests/variants.yml ({', '.join(VARIANTS)})",
    )
    parser.addoption(
        "--no-variant",
        action="store_true",
        help="run only the tests that take no variant (with --variant: those too)",
    )


# The harness modules of the service-stack and image tests: a test module that uses either
# starts PostgreSQL and Redis or builds images (buildah and debootstrap, as root).
STACK_HARNESS = frozenset({"servers", "images"})


def pytest_configure(config: pytest.Config) -> None:
    """Register the `stack` marker, which pytest_collection_modifyitems sets."""
    config.addinivalue_line(
        "markers",
        "stack: the module uses tests/servers.py or tests/images.py (PostgreSQL, Redis, image "
        "builds); set by conftest.py. CI runs these as root: make test-stack",
    )


def uses_the_stack(module: ModuleType) -> bool:
    """Whether a test module imports tests/servers.py or tests/images.py, or names from them."""
    return any(
        (isinstance(value, ModuleType) and value.__name__ in STACK_HARNESS)
        or getattr(value, "__module__", None) in STACK_HARNESS
        for value in vars(module).values()
    )


def variant_of(item: pytest.Item) -> str | None:
    """The variant a test runs for (a parameter named like one), or None when it takes none."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((v for v in params.values() if isinstance(v, str) and v in VARIANTS), None)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups, and before -m reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the stack's tests; keep only the chosen variants' tests (--variant, --no-variant);
    send the tests of one set-up variant (`green`) to one worker: it is set up once."""
    chosen: list[str] = config.getoption("variant")
    if unknown := [name for name in chosen if name not in VARIANTS]:
        msg = f"unknown variant {', '.join(unknown)}: pick one of {', '.join(VARIANTS)}"
        raise pytest.UsageError(msg)
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and uses_the_stack(module):
            item.add_marker(pytest.mark.stack)
    if chosen or config.getoption("no_variant"):
        kept: set[str | None] = set(chosen)
        if config.getoption("no_variant"):
            kept.add(None)
        deselected = [item for item in items if variant_of(item) not in kept]
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if variant_of(item) in kept]
    for item in items:
        if "green" in getattr(item, "fixturenames", ()):
            variant = item.callspec.params["variant"]  # type: ignore[attr-defined]
            item.add_marker(pytest.mark.xdist_group(f"green-{variant}"))


@pytest.fixture(scope="session")
def renderer(copie_session: Copie) -> Renderer:
    """Renders that last the session, for module- and session-scoped fixtures."""
    return Renderer(copie_session)


@pytest.fixture
def render(copie: Copie) -> Renderer:
    """Render a variant for this test alone (removed after it): render("library", setup=True)."""
    return Renderer(copie)


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> str:
    """The name of a variant of tests/variants.yml."""
    return str(request.param)


@pytest.fixture(scope="session")
def rendered(variant: str, renderer: Renderer) -> Project:
    """The variant rendered without the setup task (fast; tests only read it)."""
    return renderer.variant(variant)


@pytest.fixture(scope="session")
def green(variant: str, renderer: Renderer) -> Project:
    """The variant rendered with its post-generation setup, as `copier copy` does it.

    Tests of several modules share it, on one worker, one after another: each may use it as
    its owner would (commit, clean), and leaves it set up and with nothing of its own behind.
    """
    return renderer.variant(variant, setup=True)


@pytest.fixture
def template(tmp_path: Path, copie: Copie) -> TemplateRepo:
    """The working tree as a template repository, released as v1; renders come from it."""
    repo = copy_template(tmp_path / "template", release="v1")
    return TemplateRepo(repo, Renderer(copie, repo))
