"""A recorded history is a promise to the workflows running in production: never changed, never removed,
except by the retirement of its generation, which moves it unchanged to tests/histories/retired/
(docs/adr/0019-incident-workflow-generations.md).

Every file under tests/histories/ must stay byte for byte what it was when first committed. The
histories that existed at PROMISE_BASE (2026-12-01) are the baseline: earlier re-recordings under the
same patch id were never released and stay retired (issue 11). A changed workflow gets a new patch id
and a new history beside the old ones; tests/test_replay.py replays every one of them.

Needs the git history, which CI's clone has. In a shallow clone, or outside git, it skips and says why.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = "tests/histories"
# The commit whose histories are the first promise kept (f10502f, "incident workflow: drop three
# pass-through wrappers"). Files committed before it are compared with their content at this commit.
PROMISE_BASE = "f10502f"


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout


def _usable_history() -> str | None:
    """Why the git history cannot answer, or None when it can."""
    if shutil.which("git") is None:
        return "git is not installed"
    try:
        if _git("rev-parse", "--is-shallow-repository").strip() == "true":
            return "this is a shallow clone: the commits that first recorded each history are not here"
        _git("rev-parse", "--verify", f"{PROMISE_BASE}^{{commit}}")
    except subprocess.CalledProcessError as exc:
        return f"no usable git history ({exc.stderr.strip() or exc})"
    return None


def _promised_version(path: str) -> tuple[str, bytes] | None:
    """(commit, bytes) of the version a history file was first promised at; None if never committed."""
    added = _git("log", "--diff-filter=A", "--format=%H", "--", path).split()
    if not added:
        return None
    first = added[-1]
    is_before_base = subprocess.run(
        ["git", "-C", str(ROOT), "merge-base", "--is-ancestor", first, PROMISE_BASE], capture_output=True
    ).returncode == 0
    commit = PROMISE_BASE if is_before_base else first
    blob = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}"], check=True, capture_output=True)
    return commit, blob.stdout


def test_no_committed_history_changed_or_removed() -> None:
    why = _usable_history()
    if why is not None:
        pytest.skip(f"cannot check tests/histories against git: {why}")
    at_base = set(_git("ls-tree", "-r", "--name-only", PROMISE_BASE, "--", HISTORIES).split())
    ever = {line for line in _git("log", "--format=", "--name-only", "--", HISTORIES).splitlines() if line}
    problems = []
    for path in sorted(p for p in ever if p.endswith(".json")):
        promised = _promised_version(path)
        if promised is None:
            continue
        commit, original = promised
        if commit == PROMISE_BASE and path not in at_base:
            continue  # recorded and removed before the promise began: retired, never released
        here = ROOT / path
        retired = ROOT / HISTORIES / "retired" / Path(path).name
        if not here.exists() and retired.exists():
            here = retired  # its generation was retired: moved, bytes unchanged
        if not here.exists():
            problems.append(f"{path} was removed (first promised at {commit[:10]})")
        elif here.read_bytes() != original:
            problems.append(f"{path} differs from its version at {commit[:10]}")
    assert not problems, (
        "committed workflow histories must never change: restore them, and record a new history under a "
        "new patch id instead:\n  " + "\n  ".join(problems)
    )


def test_every_history_file_is_committed_or_new() -> None:
    """Sanity of the check itself: the baseline histories are found."""
    why = _usable_history()
    if why is not None:
        pytest.skip(f"cannot check tests/histories against git: {why}")
    at_base = _git("ls-tree", "-r", "--name-only", PROMISE_BASE, "--", HISTORIES).split()
    assert f"{HISTORIES}/incident_v1.json" in at_base
    assert f"{HISTORIES}/incident_v2_repair.json" in at_base


def test_every_kept_history_is_of_a_generation_the_worker_runs() -> None:
    """Retiring a generation moves its histories to retired/; the ones left must still replay, so
    their workflow type must be registered on the worker (tests/test_replay.py replays them)."""
    import json

    from worker.wiring import WORKFLOWS

    registered = {getattr(w, "__temporal_workflow_definition").name for w in WORKFLOWS}
    for path in sorted((ROOT / HISTORIES).glob("*.json")):
        first = json.loads(path.read_text())["events"][0]
        workflow_type = first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
        assert workflow_type in registered, f"{path.name}: {workflow_type} is not registered; retire it"
