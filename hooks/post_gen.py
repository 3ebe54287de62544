"""Post-generation task: git init, then the project's own `scripts/setup.sh`.

Copier runs this in the rendered project. It never fails the render: when uv or Python is
missing, the project stays rendered and the setup script says what to install.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess  # nosec B404 # fixed argument lists, no shell
import sys
from collections.abc import Sequence
from pathlib import Path

SETUP_SCRIPT = Path("scripts") / "setup.sh"


def say(message: str) -> None:
    """Print one line of the task's output."""
    print(f"post-gen: {message}", flush=True)


def run(command: Sequence[str], cwd: Path) -> int:
    """Run a command in `cwd`, streaming its output, and return its exit status."""
    try:
        return subprocess.run(list(command), cwd=cwd, check=False).returncode  # nosec B603
    except OSError as error:
        say(f"could not run {command[0]}: {error}")
        return 127


def ensure_git_repository(project: Path) -> None:
    """Run `git init` (branch main) unless the project is already inside a work tree."""
    git = shutil.which("git")
    if git is None:
        say("git not found: skipped `git init` (install git, then run `git init` here)")
        return
    inside = subprocess.run(  # nosec B603
        [git, "rev-parse", "--is-inside-work-tree"],
        cwd=project,
        capture_output=True,
        check=False,
    )
    if inside.returncode == 0:
        say("already inside a git work tree: skipped `git init`")
        return
    if run([git, "init", "--quiet"], project) == 0:
        run([git, "symbolic-ref", "HEAD", "refs/heads/main"], project)
        say("initialised a git repository (branch main)")


def run_setup(project: Path) -> bool:
    """Run the project's setup script, the same one `make setup` runs."""
    bash = shutil.which("bash")
    if bash is None:
        say("bash not found: skipped setup (run `make setup` where bash is available)")
        return False
    if run([bash, str(SETUP_SCRIPT)], project) != 0:
        say("setup did not finish; the project is rendered. Fix the above, then run `make setup`.")
        return False
    return True


def parse_bool(text: str) -> bool:
    """Read the "True"/"False" that Copier renders for a boolean answer."""
    value = text.strip().lower()
    if value in {"true", "1", "yes"}:
        return True
    if value in {"false", "0", "no", ""}:
        return False
    msg = f"expected true or false, got {text!r}"
    raise argparse.ArgumentTypeError(msg)


def main(argv: Sequence[str] | None = None, project: Path | None = None) -> int:
    """Entry point; always returns 0 so that a missing tool never fails the render."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-setup", type=parse_bool, default=False)
    args = parser.parse_args(argv)
    here = project if project is not None else Path.cwd()
    ensure_git_repository(here)
    if args.skip_setup:
        say("skip_setup is set: run `make setup` when you are ready")
    else:
        run_setup(here)
    return 0


if __name__ == "__main__":
    sys.exit(main())
