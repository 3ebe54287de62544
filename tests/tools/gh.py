"""A stand-in for the GitHub CLI (`gh`), for tests of scripts/template-sync.py.

It knows the few `gh pr` commands template-sync uses, answers them from a JSON state file the
test controls, and records every call. Environment:
- GH_STUB_STATE: the state, {"prs": [{"number", "head", "base", "state", "isDraft", "title",
  "body"}], "fail": {"pr create": {"stderr": "...", "status": 1}}}; changed as gh would change it;
- GH_STUB_LOG: one JSON line per call: {"argv", "body" (the --body-file text), "token"
  (GH_TOKEN), "head" (for `pr create`: the commit origin's head branch had)}.
Like gh, `pr create` fails when origin has no such head branch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPOSITORY = "https://github.com/acme/acme-billing"


def option(argv: list[str], name: str) -> str | None:
    """The value that follows `name` in `argv`, if any."""
    return argv[argv.index(name) + 1] if name in argv else None


def remote_head(branch: str) -> str:
    """The commit origin's `branch` points to ('' when origin has no such branch)."""
    result = subprocess.run(
        ["git", "ls-remote", "origin", f"refs/heads/{branch}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.split("\t", 1)[0].strip()


def find(state: dict[str, Any], number: str) -> dict[str, Any]:
    """The pull request `number`, or exit as gh does."""
    prs: list[dict[str, Any]] = state["prs"]
    for pr in prs:
        if str(pr["number"]) == number:
            return pr
    sys.exit(f"GraphQL: Could not resolve to a PullRequest with the number of {number}.")


def answer(argv: list[str], state: dict[str, Any], body: str | None) -> str:
    """Carry out `gh argv` on `state`; return what gh prints."""
    prs: list[dict[str, Any]] = state["prs"]
    command = argv[:2]
    if command == ["pr", "list"]:
        wanted = {"head": option(argv, "--head"), "base": option(argv, "--base")}
        status = option(argv, "--state") or "open"
        fields = (option(argv, "--json") or "number").split(",")
        found = [
            {field: pr.get(field) for field in fields}
            for pr in prs
            if all(value is None or pr[key] == value for key, value in wanted.items())
            and status in {"all", pr["state"]}
        ]
        return json.dumps(found) + "\n"
    if command == ["pr", "create"]:
        head = option(argv, "--head") or ""
        if not remote_head(head):
            sys.exit(
                "pull request create failed: GraphQL: Head sha can't be blank (createPullRequest)"
            )
        number = max((int(pr["number"]) for pr in prs), default=0) + 1
        prs.append(
            {"number": number, "head": head, "base": option(argv, "--base"), "state": "open",
             "isDraft": "--draft" in argv, "title": option(argv, "--title"), "body": body}
        )  # fmt: skip
        return f"{REPOSITORY}/pull/{number}\n"
    if command == ["pr", "edit"]:
        pr = find(state, argv[2])
        pr["title"] = option(argv, "--title") or pr["title"]
        pr["body"] = body if body is not None else pr["body"]
        return f"{REPOSITORY}/pull/{pr['number']}\n"
    if command == ["pr", "ready"]:
        pr = find(state, argv[2])
        pr["isDraft"] = "--undo" in argv
        return ""
    sys.exit(f"gh stand-in: unknown command {' '.join(argv)}")


def main() -> None:
    """Record the call, fail it if the state says so, else answer it and save the state."""
    argv = sys.argv[1:]
    state_file = Path(os.environ["GH_STUB_STATE"])
    state: dict[str, Any] = json.loads(state_file.read_text(encoding="utf-8"))
    state.setdefault("prs", [])
    body_file = option(argv, "--body-file")
    body = Path(body_file).read_text(encoding="utf-8") if body_file else None
    call: dict[str, Any] = {"argv": argv, "body": body, "token": os.environ.get("GH_TOKEN")}
    if argv[:2] == ["pr", "create"]:
        call["head"] = remote_head(option(argv, "--head") or "")
    with Path(os.environ["GH_STUB_LOG"]).open("a", encoding="utf-8") as log:
        log.write(json.dumps(call) + "\n")
    failure = state.get("fail", {}).get(" ".join(argv[:2]))
    if failure:
        sys.stderr.write(failure["stderr"] + "\n")
        sys.exit(int(failure.get("status", 1)))
    printed = answer(argv, state, body)
    state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")
    sys.stdout.write(printed)


if __name__ == "__main__":
    main()
