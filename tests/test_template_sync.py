"""scripts/template-sync.py, what the template-sync workflow runs, against a local template
repository with tagged releases, a local bare remote standing in for GitHub, and a stand-in
`gh` (tests/tools/gh.py) that records every call and answers from a state file the test sets.

`update` runs the project's real scripts/template-update.py (copier through uv); `publish`
pushes to the bare remote. Recorders first on PATH log every `make` and `uv` call.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import ROOT, clean_env, commit_all, git, run
from project import Project, Renderer, TemplateRepo

pytestmark = pytest.mark.slow

BOT = "template-sync[bot] <template-sync@users.noreply.github.com>"
GH_TOKEN = "ghs_publish_token_for_tests"  # noqa: S105 # made up
READ_TOKEN = "ghp_read_token_for_tests"  # noqa: S105 # made up
# Template releases, as TemplateRepo.release takes them (file, old, new).
WIDER = (".editorconfig", "indent_size = 4", "indent_size = 4\nmax_line_length = 100")
FINAL_NEWLINE = (".editorconfig", "end_of_line = lf", "end_of_line = lf\n# v3")
CI = "{% if use_github_actions or use_dependabot %}.github{% endif %}/" \
    "{% if use_github_actions %}workflows{% endif %}/ci.yml.jinja"  # fmt: skip
WORKFLOW_CHANGE = (CI, "timeout-minutes: 20", "timeout-minutes: 25")
NOT_PERMITTED = (
    "pull request create failed: GraphQL: GitHub Actions is not permitted to create or approve "
    "pull requests (createPullRequest)"
)
RECORDER = """#!/bin/sh
"{python}" -c 'import json, os, sys
calls = open(os.environ["STUB_CALLS"], "a")
config = {{k: v for k, v in os.environ.items() if k.startswith("GIT_CONFIG")}}
calls.write(json.dumps({{"argv": sys.argv[1:], "git_config": config}}) + "\\n")' {name} "$@"
exec "{real}" "$@"
"""


def executable(path: Path, text: str) -> None:
    """Write a script and make it executable."""
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def outputs(result: subprocess.CompletedProcess[str], github_output: Path) -> dict[str, str]:
    """The key=value lines a command printed, checked against what it wrote to $GITHUB_OUTPUT."""
    written = github_output.read_text() if github_output.exists() else ""
    assert written == result.stdout
    github_output.unlink(missing_ok=True)
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


@dataclass
class Sync:
    """A project rendered from the template's v1, its remote, and the stand-ins on PATH."""

    project: Project
    template: TemplateRepo
    remote: Path
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    # The --body-file texts, and for `pr create` the commit origin's head had, of gh_calls().
    bodies: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    last_line: str = ""

    @property
    def state_file(self) -> Path:
        """The stand-in gh's state."""
        return self.tmp / "gh-state.json"

    @property
    def state(self) -> dict[str, Any]:
        """The stand-in gh's state now (pull requests, failures to simulate)."""
        data: dict[str, Any] = json.loads(self.state_file.read_text())
        return data

    @state.setter
    def state(self, value: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(value))

    def pr(self, number: int) -> dict[str, Any]:
        """Pull request `number` as the stand-in gh has it."""
        return next(pr for pr in self.state["prs"] if pr["number"] == number)

    def set_pr(self, number: int, **changes: Any) -> None:
        """Change pull request `number` (state, isDraft…) as GitHub would."""
        state = self.state
        next(pr for pr in state["prs"] if pr["number"] == number).update(changes)
        self.state = state

    def gh_calls(self) -> list[list[str]]:
        """The argv of each gh call since the last look, a --body-file as BODY (its text is in
        `bodies`); every call had the publish token."""
        log = self.tmp / "gh-calls.jsonl"
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        log.unlink(missing_ok=True)
        assert all(call["token"] == GH_TOKEN for call in calls)
        self.bodies = [call["body"] for call in calls if call["body"] is not None]
        self.heads = [call["head"] for call in calls if "head" in call]
        argvs: list[list[str]] = [call["argv"] for call in calls]
        for argv in argvs:
            if "--body-file" in argv:
                argv[argv.index("--body-file") + 1] = "BODY"
        return argvs

    def tool_calls(self) -> list[dict[str, Any]]:
        """Every make and uv call so far: {"argv": [name, ...], "git_config": {...}}."""
        log = self.tmp / "tool-calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def script(
        self, *args: str, status: int = 0, **env: str
    ) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
        """Run template-sync.py with `args`; return its outputs and the result."""
        github_output = self.tmp / "github-output"
        result = run(
            [sys.executable, "scripts/template-sync.py", *args],
            self.project.path,
            env={**self.env, "GITHUB_OUTPUT": str(github_output), **env},
            check=False,
        )
        assert result.returncode == status, result.stdout + result.stderr
        return outputs(result, github_output), result

    def update(self, status: int = 0, **env: str) -> dict[str, str]:
        """`template-sync.py update --body FILE`, as the workflow runs it; its outputs."""
        values, _ = self.script("update", "--body", str(self.tmp / "body.md"), status=status, **env)
        return values

    def publish(self, status: int = 0, *, own_token: bool = False) -> tuple[dict[str, str], str]:
        """`template-sync.py publish` as the workflow runs it, with GITHUB_TOKEN (or the
        user's TEMPLATE_SYNC_TOKEN); its outputs and job summary. Its last line of stderr
        is kept in `last_line`."""
        summary = self.tmp / "summary.md"
        summary.unlink(missing_ok=True)
        env = {
            "GH_TOKEN": GH_TOKEN,
            "GITHUB_ACTIONS": "true",
            "TEMPLATE_SYNC_TOKEN_SET": str(own_token).lower(),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
        values, result = self.script("publish", status=status, **env)
        self.last_line = result.stderr.strip().splitlines()[-1]
        return values, summary.read_text() if summary.exists() else ""

    def remote_tip(self, branch: str = "template-sync") -> str:
        """The commit the remote's `branch` points to ('' when it has none)."""
        return git(self.remote, "rev-parse", "--verify", "--quiet", branch, check=False)

    def clone(self, branch: str) -> Path:
        """A fresh clone of the remote's `branch`, as a colleague would make one."""
        clone = self.tmp / f"clone-{branch}"
        shutil.rmtree(clone, ignore_errors=True)
        run(["git", "clone", "-q", "-b", branch, str(self.remote), str(clone)], self.tmp)
        return clone

    def next_run(self) -> None:
        """Start the next scheduled run as a fresh checkout would: main as on the remote."""
        self.project.git("fetch", "-q", "origin")
        self.project.git("reset", "-q", "--hard", "origin/main")
        self.project.git("branch", "-q", "-D", "template-sync", check=False)


@pytest.fixture
def sync(template: TemplateRepo, tmp_path: Path) -> Sync:
    """A project rendered from template v1, committed, pushed to a bare `origin`; no setup."""
    project = template.renderer.render()
    project.commit("Initial project")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    project.git("remote", "add", "origin", str(remote))
    project.git("push", "-q", "origin", "main")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    executable(
        # GH_STAND_IN tells the git it runs (to read the remote) from the script's own.
        stubs / "gh",
        f'#!/bin/sh\nGH_STAND_IN=1 exec "{sys.executable}" "{ROOT}/tests/tools/gh.py" "$@"\n',
    )
    path = clean_env()["PATH"]
    for name in ("make", "uv"):
        real = shutil.which(name, path=path)
        assert real is not None, f"{name} is not on PATH"
        executable(stubs / name, RECORDER.format(python=sys.executable, name=name, real=real))
    env = clean_env(
        PATH=f"{stubs}{os.pathsep}{path}",
        GH_STUB_STATE=str(tmp_path / "gh-state.json"),
        GH_STUB_LOG=str(tmp_path / "gh-calls.jsonl"),
        STUB_CALLS=str(tmp_path / "tool-calls.jsonl"),
    )
    # Nothing of an outer CI run (the suite may run in GitHub Actions itself).
    for name in ("GH_TOKEN", "GITHUB_TOKEN", "GITHUB_ACTIONS", "GITHUB_OUTPUT",
                 "GITHUB_STEP_SUMMARY", "TEMPLATE_READ_TOKEN", "TEMPLATE_SYNC_BRANCH",
                 "TEMPLATE_SYNC_TOKEN_SET"):  # fmt: skip
        env.pop(name, None)
    made = Sync(project, template, remote, tmp_path, env)
    made.state = {"prs": []}
    return made


def release(sync: Sync, tag: str, change: tuple[str, str, str]) -> None:
    """Release `tag` of the template with `change`."""
    sync.template.release(tag, *change)


def test_no_release_makes_no_branch_and_runs_no_setup(sync: Sync) -> None:
    main = sync.project.git("rev-parse", "HEAD")
    values = sync.update()
    assert values == {
        "changed": "false", "conflicts": "false", "from": "v1", "to": "v1", "base": "main",
        "branch": "template-sync", "body": "",
    }  # fmt: skip
    assert sync.project.git("branch", "--list", "template-sync") == ""
    assert sync.project.git("rev-parse", "HEAD") == main
    assert sync.project.git("status", "--porcelain") == ""
    assert not (sync.project.path / ".venv").exists()
    calls = [call["argv"] for call in sync.tool_calls()]
    assert [argv for argv in calls if argv[0] == "make"] == []
    assert all(argv[1] == "tool" and "check-update" in argv for argv in calls), calls
    # Nothing to publish: publish says so and touches nothing.
    _, result = sync.script("publish", status=2, GH_TOKEN=GH_TOKEN)
    assert "no local template-sync branch: run `update` first" in result.stderr
    assert sync.gh_calls() == []


def test_refusals_are_one_line_and_change_nothing(sync: Sync) -> None:
    project = sync.project
    (project.path / "README.md").write_text("edited\n")
    _, result = sync.script("update", status=2)
    assert result.stderr.strip().splitlines()[-1] == (
        "template-sync: error: the working tree has changes: commit or stash them first"
    )
    project.git("checkout", "-q", "README.md")
    project.git("checkout", "-q", "--detach")
    _, result = sync.script("update", status=2)
    assert "error: HEAD is detached: check out the branch to update" in result.stderr
    project.git("checkout", "-q", "-b", "template-sync")
    _, result = sync.script("update", status=2)
    assert "error: run it from the base branch, not from template-sync" in result.stderr
    assert sync.tool_calls() == []  # refused before asking the template anything


LIST = ["pr", "list", "--head", "template-sync", "--base", "main", "--state", "all",
        "--json", "number,isDraft,state,title", "--limit", "100"]  # fmt: skip


def create(version: str) -> list[str]:
    """The gh call that opens the pull request for `version`."""
    return ["pr", "create", "--head", "template-sync", "--base", "main",
            "--title", f"Update the template to {version}", "--body-file", "BODY"]  # fmt: skip


def edit(number: int, version: str) -> list[str]:
    """The gh call that retitles pull request `number` for `version`."""
    return ["pr", "edit", str(number), "--title", f"Update the template to {version}",
            "--body-file", "BODY"]  # fmt: skip


def files_holding(root: Path, secret: str) -> list[Path]:
    """The files under `root` whose bytes contain `secret`."""
    needle = secret.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_release_becomes_one_bot_commit_and_one_pull_request(sync: Sync) -> None:
    project = sync.project
    main = project.git("rev-parse", "HEAD")
    release(sync, "v2", WIDER)
    body = sync.tmp / "body.md"
    values, result = sync.script("update", "--body", str(body), TEMPLATE_READ_TOKEN=READ_TOKEN)
    assert values == {
        "changed": "true", "conflicts": "false", "from": "v1", "to": "v2", "base": "main",
        "branch": "template-sync", "body": str(body),
    }  # fmt: skip
    # main and the working tree are untouched; the update is one bot commit on template-sync.
    assert project.git("symbolic-ref", "--short", "HEAD") == "main"
    assert project.git("rev-parse", "HEAD") == main
    assert project.git("status", "--porcelain") == ""
    assert project.git("rev-parse", "template-sync^") == main
    assert project.git("log", "-1", "--format=%an <%ae>|%cn <%ce>", "template-sync") == (
        f"{BOT}|{BOT}"
    )
    changed = project.git("diff", "--name-only", "main", "template-sync").split()
    assert {".editorconfig", ".copier-answers.yml"} <= set(changed)
    assert "max_line_length = 100" in project.git("show", "template-sync:.editorconfig")
    text = body.read_text()
    assert "from template `v1` to `v2`" in text
    assert "### Changed files" in text
    assert ".editorconfig" in text
    assert "### Conflicts" not in text
    # The read token reached copier's git through the environment only: never printed or stored.
    key = f"url.https://x-access-token:{READ_TOKEN}@github.com/.insteadOf"
    copier_calls = [call for call in sync.tool_calls() if call["argv"][:3] == ["uv", "tool", "run"]]
    assert len(copier_calls) >= 2  # check-update, update
    for call in copier_calls:
        config = call["git_config"]
        count = int(config["GIT_CONFIG_COUNT"])
        pairs = {
            config[f"GIT_CONFIG_KEY_{i}"]: config[f"GIT_CONFIG_VALUE_{i}"] for i in range(count)
        }
        assert pairs[key] == "https://github.com/"
    assert READ_TOKEN not in result.stdout + result.stderr
    assert files_holding(project.path, READ_TOKEN) == []
    # No setup, no make, no virtual environment: template-sync needs none.
    assert not (project.path / ".venv").exists()
    calls = [call["argv"] for call in sync.tool_calls()]
    assert [argv for argv in calls if argv[0] == "make" or argv[1] in {"sync", "venv"}] == []

    values, summary = sync.publish()
    assert values == {"pr": "1", "pushed": "true"}
    assert sync.gh_calls() == [LIST, create("v2")]
    assert sync.bodies == [text]
    assert sync.heads == [project.git("rev-parse", "template-sync")]  # pushed before opening
    assert sync.remote_tip() == project.git("rev-parse", "template-sync")
    assert "Pull request #1 opened" in summary
    assert sync.pr(1)["isDraft"] is False
    assert files_holding(project.path, GH_TOKEN) == []

    # The next scheduled run, in the same clone: the same update, nothing new to push, the
    # pull request's text refreshed; the bot's own local branch is simply replaced.
    pushed = sync.remote_tip()
    assert sync.update()["changed"] == "true"
    values, _ = sync.publish()
    assert values == {"pr": "1", "pushed": "false"}
    assert sync.gh_calls() == [LIST, edit(1, "v2")]
    assert sync.remote_tip() == pushed


def earlier_pull_request(sync: Sync) -> str:
    """What an earlier run left for v2 (as the first test makes it): one bot commit on
    origin's template-sync and its open pull request #1. Returns that commit."""
    release(sync, "v2", WIDER)
    clone = sync.clone("main")
    git(clone, "checkout", "-q", "-b", "template-sync")
    (clone / ".editorconfig").write_text((clone / ".editorconfig").read_text() + "# v2\n")
    name, email = BOT[:-1].split(" <")
    identity = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
                for what, value in (("NAME", name), ("EMAIL", email))}  # fmt: skip
    run(["git", "commit", "-qam", "Update the template from v1 to v2"], clone,
        env=clean_env(**identity))  # fmt: skip
    git(clone, "push", "-q", "origin", "template-sync")
    pr = {"number": 1, "head": "template-sync", "base": "main", "state": "open", "isDraft": False,
          "title": "Update the template to v2", "body": ""}  # fmt: skip
    sync.state = {"prs": [pr]}
    return git(clone, "rev-parse", "HEAD")


def hand_made_commit(sync: Sync) -> str:
    """Someone fixes something on origin's template-sync, by hand; returns that commit."""
    clone = sync.clone("template-sync")
    (clone / "NOTES.md").write_text("reviewed\n")
    commit_all(clone, "Review notes")
    git(clone, "push", "-q", "origin", "template-sync")
    return git(clone, "rev-parse", "HEAD")


def test_a_release_while_the_pr_is_open_and_untouched_is_force_pushed_and_retitled(
    sync: Sync,
) -> None:
    earlier_pull_request(sync)
    sync.set_pr(1, isDraft=True)  # as an earlier update with conflicts left it
    # Work goes on on main; then the template releases v3.
    work = sync.clone("main")
    (work / "NOTES.md").write_text("notes\n")
    commit_all(work, "Our notes")
    git(work, "push", "-q", "origin", "main")
    release(sync, "v3", FINAL_NEWLINE)
    sync.next_run()
    values = sync.update()
    assert (values["from"], values["to"], values["conflicts"]) == ("v1", "v3", "false")
    values, summary = sync.publish()
    assert values == {"pr": "1", "pushed": "true"}
    assert sync.gh_calls() == [LIST, edit(1, "v3"), ["pr", "ready", "1"]]
    assert "from template `v1` to `v3`" in sync.bodies[0]
    tip = sync.remote_tip()
    assert tip == sync.project.git("rev-parse", "template-sync")
    assert git(sync.remote, "rev-parse", f"{tip}^") == git(sync.remote, "rev-parse", "main")
    assert sync.pr(1)["title"] == "Update the template to v3"
    assert sync.pr(1)["isDraft"] is False
    assert "Pull request #1 updated" in summary


def test_an_open_pr_with_hand_made_commits_is_neither_pushed_nor_retitled(sync: Sync) -> None:
    earlier_pull_request(sync)
    human = hand_made_commit(sync)
    release(sync, "v3", FINAL_NEWLINE)
    sync.next_run()
    assert sync.update()["to"] == "v3"
    values, summary = sync.publish()
    assert values == {"pr": "1", "pushed": "false"}
    assert sync.gh_calls() == [LIST]
    assert sync.remote_tip() == human
    assert sync.pr(1)["title"] == "Update the template to v2"
    assert "Pull request #1 has hand-made commits on `template-sync`" in summary
    assert "The update to v3 waits until it is merged or closed." in summary


def assert_new_pull_request(sync: Sync, start: str) -> None:
    """The next release's run pushed a fresh branch and opened pull request #2 for v3."""
    release(sync, "v3", FINAL_NEWLINE)
    sync.next_run()
    values = sync.update()
    assert (values["from"], values["to"]) == (start, "v3")
    values, summary = sync.publish()
    assert values == {"pr": "2", "pushed": "true"}
    assert sync.gh_calls() == [LIST, create("v3")]
    assert f"from template `{start}` to `v3`" in sync.bodies[0]
    tip = sync.remote_tip()
    assert tip == sync.project.git("rev-parse", "template-sync")
    assert git(sync.remote, "rev-parse", f"{tip}^") == git(sync.remote, "rev-parse", "main")
    assert git(sync.remote, "log", "-1", "--format=%an <%ae>", tip) == BOT
    assert "Pull request #2 opened" in summary
    assert sync.pr(2)["state"] == "open"


def test_after_a_squash_merge_the_next_release_opens_a_new_pr(sync: Sync) -> None:
    release(sync, "v2", WIDER)
    sync.update()
    sync.publish()
    sync.gh_calls()
    human = hand_made_commit(sync)
    main = sync.clone("main")
    git(main, "fetch", "-q", "origin", "template-sync")
    git(main, "merge", "-q", "--squash", "FETCH_HEAD")
    commit_all(main, "Update the template to v2 (#1)")
    git(main, "push", "-q", "origin", "main")
    sync.set_pr(1, state="merged")
    # The stale branch (the bot's commit and a hand-made one) is still on origin.
    assert sync.remote_tip() == human
    assert_new_pull_request(sync, start="v2")


def test_after_a_closed_pr_the_next_release_opens_a_new_pr(sync: Sync) -> None:
    earlier_pull_request(sync)
    human = hand_made_commit(sync)
    sync.set_pr(1, state="closed")
    assert sync.remote_tip() == human
    assert_new_pull_request(sync, start="v1")


def test_a_release_whose_pr_was_closed_unmerged_is_not_opened_again(sync: Sync) -> None:
    tip = earlier_pull_request(sync)
    sync.set_pr(1, state="closed")
    assert sync.update()["changed"] == "true"  # v2 is still newer than the project
    values, summary = sync.publish()
    assert values == {"pr": "1", "pushed": "false"}
    assert "Pull request #1 for v2 was closed without merging: not opened again" in summary
    assert sync.gh_calls() == [LIST]
    assert sync.remote_tip() == tip


def test_conflicts_and_kept_files_make_a_draft_pr_and_fail_the_job(sync: Sync) -> None:
    project = sync.project
    editorconfig = project.path / ".editorconfig"
    editorconfig.write_text(editorconfig.read_text().replace("indent_size = 4", "indent_size = 3"))
    doctor = project.path / "scripts" / "doctor.sh"
    doctor.write_text(doctor.read_text() + "# our own check\n")
    project.commit("We indent by three and check more")
    project.git("push", "-q", "origin", "main")
    release(sync, "v2", (".editorconfig", "indent_size = 4", "indent_size = 8"))
    sync.template.remove("v3", "scripts/doctor.sh")
    values = sync.update()
    assert (values["changed"], values["conflicts"], values["to"]) == ("true", "true", "v3")
    text = (sync.tmp / "body.md").read_text()
    assert "### Conflicts" in text
    assert "- `.editorconfig`: " in text
    assert "- `scripts/doctor.sh`: kept as `scripts/doctor.sh.orig`" in text
    committed = project.git("show", "template-sync:.editorconfig")
    assert "<<<<<<< " in committed
    assert "indent_size = 3" in committed
    assert "indent_size = 8" in committed
    files = project.git("ls-tree", "-r", "--name-only", "template-sync", "scripts").split()
    assert "scripts/doctor.sh.orig" in files
    assert "scripts/doctor.sh" not in files
    assert project.git("status", "--porcelain") == ""
    assert editorconfig.read_text().count("indent_size = 3") == 1  # main keeps its edits
    assert doctor.read_text().endswith("# our own check\n")

    values, summary = sync.publish(status=1)
    assert values == {"pr": "1", "pushed": "true"}
    assert sync.gh_calls() == [LIST, create("v3"), ["pr", "ready", "1", "--undo"]]
    assert sync.bodies == [text]
    assert sync.pr(1)["isDraft"] is True
    assert "Pull request #1 opened" in summary
    assert "- `.editorconfig`" in summary
    assert "- `scripts/doctor.sh.orig` (removed by the template)" in summary
    assert sync.remote_tip() == project.git("rev-parse", "template-sync")


def test_a_local_sync_branch_with_the_users_commits_is_kept(sync: Sync) -> None:
    project = sync.project
    project.git("checkout", "-q", "-b", "template-sync")
    (project.path / "MINE.md").write_text("my work\n")
    project.commit("My own work")
    mine = project.git("rev-parse", "HEAD")
    project.git("checkout", "-q", "main")
    release(sync, "v2", WIDER)
    _, result = sync.script("update", status=2)
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "template-sync: error: the local branch template-sync has 1 commit(s) not on main that "
            "template-sync did not make"
        )
    )
    assert project.git("rev-parse", "template-sync") == mine
    assert project.git("symbolic-ref", "--short", "HEAD") == "main"
    assert project.git("status", "--porcelain") == ""
    assert not any("update" in call["argv"] for call in sync.tool_calls())  # no copier update


# Every client-side hook git may run: `update` (no token) could have planted any of them.
HOOKS = (
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
    "prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout",
    "post-merge", "pre-push", "pre-auto-gc", "post-rewrite", "reference-transaction",
    "post-index-change", "sendemail-validate",
)  # fmt: skip
PLANTED_HOOK = """#!/bin/sh
# Planted by code that ran in the tokenless update step: records what it could have read.
echo "$(basename "$0") GH_TOKEN=${{GH_TOKEN:-}} $(env | grep -c extraheader)" >> '{record}'
cat >/dev/null
"""


def plant_hooks(sync: Sync) -> Path:
    """Plant every hook in the project's .git/hooks; return the file they would write to."""
    record = sync.tmp / "hooks-ran.txt"
    hooks = Path(sync.project.git("rev-parse", "--path-format=absolute", "--git-path", "hooks"))
    hooks.mkdir(exist_ok=True)
    for name in HOOKS:
        executable(hooks / name, PLANTED_HOOK.format(record=record))
    return record


def test_publish_runs_no_hook_the_update_step_could_plant(sync: Sync) -> None:
    """`publish` holds the write token: no git hook runs while it pushes."""
    record = plant_hooks(sync)
    release(sync, "v2", WIDER)
    sync.update()
    record.unlink(missing_ok=True)  # the update step's own hook runs are not the point
    values, _ = sync.publish()
    assert values == {"pr": "1", "pushed": "true"}
    assert sync.remote_tip() == sync.project.git("rev-parse", "template-sync")
    assert not record.exists(), record.read_text()


def test_publish_runs_no_hook_even_when_it_fetches_origins_branch(sync: Sync) -> None:
    """The same on a later run, whose checkout has not fetched origin's sync branch: publish
    fetches it (a ref update, which runs the reference-transaction hook) before pushing."""
    record = plant_hooks(sync)
    release(sync, "v2", WIDER)
    sync.update()
    sync.publish()
    sync.project.git("update-ref", "-d", "refs/remotes/origin/template-sync")
    record.unlink(missing_ok=True)
    values, _ = sync.publish()
    assert values == {"pr": "1", "pushed": "false"}
    assert not record.exists(), record.read_text()


def test_git_never_sees_the_token_and_talks_to_origin_without_hooks(sync: Sync) -> None:
    """Only gh gets GH_TOKEN. git gets it only as a header, only in the commands that talk to
    origin, and those run no hook; every other git command has no token at all."""
    real = shutil.which("git", path=sync.env["PATH"])
    assert real is not None
    git_log = sync.tmp / "git-calls.jsonl"
    executable(
        sync.tmp / "bin" / "git",
        f"""#!/bin/sh
"{sys.executable}" -c 'import json, os, sys
values = [v for k, v in os.environ.items() if k.startswith("GIT_CONFIG_VALUE")]
header = any("AUTHORIZATION" in value for value in values)
line = {{"argv": sys.argv[1:], "token": "GH_TOKEN" in os.environ, "header": header}}
if "GH_STAND_IN" in os.environ: sys.exit()
open("{git_log}", "a").write(json.dumps(line) + "\\n")' "$@"
exec "{real}" "$@"
""",
    )
    release(sync, "v2", WIDER)
    sync.update()
    git_log.unlink(missing_ok=True)
    sync.publish()
    sync.project.git("update-ref", "-d", "refs/remotes/origin/template-sync")
    sync.publish()  # a later run fetches origin's branch first
    calls = [json.loads(line) for line in git_log.read_text().splitlines()]
    assert not [call["argv"] for call in calls if call["token"]]
    with_header = [call["argv"] for call in calls if call["header"]]
    assert {
        next(a for a in argv if not a.startswith("-") and "=" not in a) for argv in with_header
    } == {"ls-remote", "fetch", "push"}
    assert all(argv[:2] == ["-c", "core.hooksPath=/dev/null"] for argv in with_header)


def test_an_update_of_workflows_needs_the_sync_token(sync: Sync) -> None:
    release(sync, "v2", WORKFLOW_CHANGE)
    sync.update()
    _, summary = sync.publish(status=1)
    line = sync.last_line
    assert line.startswith("template-sync: error: not pushed: this update changes ")
    assert ".github/workflows/ci.yml" in line
    assert (
        "store a fine-grained token as the repository secret TEMPLATE_SYNC_TOKEN with Contents: "
        "read and write, Pull requests: read and write, Workflows: read and write"
    ) in line
    assert line.split("error: ", 1)[1] in summary
    assert sync.gh_calls() == [LIST]
    assert sync.remote_tip() == ""  # refused before pushing
    # With the user's own token (the secret set), the same update goes through.
    values, _ = sync.publish(own_token=True)
    assert values == {"pr": "1", "pushed": "true"}
    assert sync.gh_calls() == [LIST, create("v2")]


def test_permission_failures_say_what_to_enable(sync: Sync) -> None:
    release(sync, "v2", WIDER)
    sync.update()
    # A token without access to pull requests: a clear line, not gh's raw 403, and no push.
    sync.state = {"prs": [], "fail": {"pr list": {"stderr": "HTTP 403: Resource not accessible "
                                                            "by integration"}}}  # fmt: skip
    _, summary = sync.publish(status=1)
    assert "gh pr list failed: the token needs Pull requests: read" in summary
    assert sync.gh_calls() == [LIST]
    assert sync.remote_tip() == ""
    # GitHub Actions may not open pull requests in this repository.
    sync.state = {"prs": [], "fail": {"pr create": {"stderr": NOT_PERMITTED}}}
    _, summary = sync.publish(status=1)
    assert sync.gh_calls() == [LIST, create("v2")]
    assert (
        'enable Settings > Actions > General > "Allow GitHub Actions to create and approve pull '
        'requests", or set the secret TEMPLATE_SYNC_TOKEN'
    ) in summary


def test_the_workflow_runs_update_then_publish_and_only_publish_holds_a_write_token(
    renderer: Renderer,
) -> None:
    path = renderer.variant("defaults").path / ".github" / "workflows" / "template-sync.yml"
    workflow = yaml.safe_load(path.read_text())
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML reads `on` as True
    assert workflow["permissions"] == {}
    job = workflow["jobs"]["sync"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    steps = job["steps"]
    checkout = steps[0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    runs = {step["id"]: step for step in steps if "run" in step}
    assert set(runs) == {"update", "publish"}
    update, publish = runs["update"], runs["publish"]
    assert update["run"] == (
        'python3 scripts/template-sync.py update --body "$RUNNER_TEMP/template-sync.md"'
    )
    assert update["env"] == {"TEMPLATE_READ_TOKEN": "${{ secrets.TEMPLATE_READ_TOKEN }}"}
    assert "if" not in update
    assert publish["run"] == "python3 scripts/template-sync.py publish"
    assert publish["if"] == "steps.update.outputs.changed == 'true'"
    assert publish["env"] == {
        "GH_TOKEN": "${{ secrets.TEMPLATE_SYNC_TOKEN || github.token }}",
        "TEMPLATE_SYNC_TOKEN_SET": "${{ secrets.TEMPLATE_SYNC_TOKEN != '' }}",
    }
    assert not any("${{" in step.get("run", "") for step in steps)
