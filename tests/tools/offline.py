"""Run a Python console script with no network: `python offline.py SCRIPT [ARG...]`.

The interpreter must be the script's own (its venv's python). Any name lookup or connection to a
network address ends the run with exit status 3 and one line on stderr saying where it went, so a
tool that calls home fails the test that runs it instead of waiting on a network the machine may
not have. Unix sockets stay allowed; forked workers inherit the guard.
"""

from __future__ import annotations

import os
import runpy
import socket
import sys
from pathlib import Path
from typing import Any

CALLED_HOME = 3


def refuse_network(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: end the process at its first DNS lookup or network connection."""
    if event == "socket.getaddrinfo":
        where = f"{args[0]}:{args[1]}"
    elif event == "socket.connect" and args[0].family in {socket.AF_INET, socket.AF_INET6}:
        where = str(args[1])
    else:
        return
    # os._exit: an exception could be caught (and the connection retried) by the tool itself.
    sys.stderr.write(f"offline.py: {Path(sys.argv[0]).name} tried to reach {where}\n")
    sys.stderr.flush()
    os._exit(CALLED_HOME)


def main() -> None:
    """Run the script named first on the command line, with the rest as its arguments."""
    if len(sys.argv) < 2:
        sys.exit("usage: python offline.py SCRIPT [ARG...]")
    sys.argv = sys.argv[1:]
    sys.addaudithook(refuse_network)
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
