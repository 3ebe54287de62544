"""Print the variants of tests/variants.yml as a JSON list, for the CI matrix.

The list is tests/project.py's VARIANTS itself, read by the locked PyYAML of the dev
environment (run it with .venv/bin/python), so the matrix never differs from what the tests
take: there is no second reader to drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"


def main() -> int:
    """Print the names, in the file's order, on one line."""
    sys.path.insert(0, str(TESTS))
    from project import VARIANTS  # the tests' own list, as their conftest imports it

    print(json.dumps(list(VARIANTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
