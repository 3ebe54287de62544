"""`make audit` in a set-up service and library, against a stand-in of the OSV database (and an
unreachable one): a known advisory fails it, an ignored one does not, no network is one line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from helpers import output
from project import Project

# The target is the same in every variant: a service and a library are enough.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("variant", ["defaults", "library"], indirect=True),
]


class StandInOsv(BaseHTTPRequestHandler):
    """An OSV API stand-in: every locked version of `vulnerable` has one advisory."""

    vulnerable = ""

    def reply(self, body: dict[str, Any]) -> None:
        """Send a JSON body."""
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        """/v1/querybatch."""
        queries = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["queries"]
        hit = {"vulns": [{"id": "GHSA-test-0001", "modified": "2026-01-01T00:00:00Z"}]}
        self.reply({"results": [hit if q["package"]["name"] == self.vulnerable else {}
                                for q in queries]})  # fmt: skip

    def do_GET(self) -> None:
        """/v1/vulns/<id>."""
        events = [{"introduced": "0"}, {"fixed": "999.0"}]
        self.reply({
            "id": "GHSA-test-0001", "summary": f"Stand-in advisory for {self.vulnerable}",
            "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"name": self.vulnerable, "ecosystem": "PyPI"},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
        })  # fmt: skip

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def osv() -> Iterator[tuple[str, type[StandInOsv]]]:
    """The stand-in's URL and handler class (set `vulnerable` on it)."""
    handler = type("Handler", (StandInOsv,), {"vulnerable": ""})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_audit_against_a_vulnerability_database(
    green: Project, osv: tuple[str, type[StandInOsv]]
) -> None:
    url, handler = osv
    assert "no known vulnerabilities" in output(green.make("audit", f"AUDIT_SERVICE_URL={url}"))
    handler.vulnerable = "pygments"
    result = green.make("audit", f"AUDIT_SERVICE_URL={url}", check=False)
    assert result.returncode != 0
    assert "GHSA-test-0001: Stand-in advisory for pygments" in result.stdout
    ignored = green.make("audit", f"AUDIT_SERVICE_URL={url}", "AUDIT_ARGS=--ignore GHSA-test-0001")
    assert "GHSA-test-0001" in output(ignored)


def test_audit_without_network_fails_with_one_clear_line(green: Project) -> None:
    result = green.make("audit", "AUDIT_SERVICE_URL=http://127.0.0.1:9", check=False)
    assert result.returncode != 0
    assert (
        "audit: could not query http://127.0.0.1:9 (see above); check the network, "
        "or set AUDIT_SERVICE_URL to a mirror"
    ) in result.stderr
