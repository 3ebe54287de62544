"""Sphinx configuration of the template's own site (`make docs`, `make docs-serve`).

Pages are Markdown (MyST), read on GitHub too. The `template_facts` extension (docs/_ext)
generates the questions, variants and Makefile targets from copier.yml and renders of the
template before the pages are read. The build is strict (`-W --keep-going`) and offline.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "copier-enterprise-python"

extensions = ["myst_parser", "template_facts"]
# The template the pages describe: this repository (-D template_root=PATH for another copy).
template_root = str(HERE.parent)

source_suffix = {".md": "markdown"}
root_doc = "index"
# Fragments are pulled into pages with {include}, never read as pages of their own.
exclude_patterns = ["_generated", "_ext", "_build"]

# Commands and messages are quoted as typed: no curly quotes or dashes in prose either.
smartquotes = False
# Links to headings ([text](page.md#heading)) resolve, and a missing one fails the build.
myst_heading_anchors = 3

html_theme = "furo"
html_title = "copier-enterprise-python"
# Nothing is fetched at build time: no intersphinx, no remote assets.
html_static_path: list[str] = []
html_show_sourcelink = False
