"""The incident workflow's generations, how many runs of each are open, and when one may go.

A generation is a workflow type (docs/adr/0019-incident-workflow-generations.md): new incidents
start on the current one; a legacy one stays registered on the worker only so that the runs it
already had can finish and its recorded histories keep replaying. The rule, checked here: a legacy
generation may be retired once no run of it is open. `awoooi generations` says so per generation,
and `awoooi generations --may-retire 1` exits 0 only then (for an upgrade script or CI).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TextIO

from temporalio.client import Client


@dataclass(frozen=True)
class Generation:
    number: int
    workflow_type: str
    current: bool
    code: str


GENERATIONS = (
    Generation(1, "IncidentWorkflow", current=False, code="workflows/legacy/ (frozen)"),
    Generation(2, "Incident", current=True, code="workflows/incident.py, core/incident/"),
)


def open_query(generation: Generation) -> str:
    return f'WorkflowType="{generation.workflow_type}" AND ExecutionStatus="Running"'


def may_retire(generation: Generation, open_runs: int) -> bool:
    """The retirement rule: never the current generation; a legacy one once none of its runs is open."""
    return not generation.current and open_runs == 0


async def report(client: Client) -> list[dict[str, object]]:
    rows = []
    for generation in GENERATIONS:
        count = (await client.count_workflows(open_query(generation))).count
        rows.append({"generation": generation.number, "workflow_type": generation.workflow_type,
                     "open_runs": count, "current": generation.current, "code": generation.code,
                     "may_retire": may_retire(generation, count)})
    return rows


def print_report(rows: list[dict[str, object]], *, as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps(rows, indent=2), file=out)
        return
    for row in rows:
        if row["current"]:
            status = "current: new incidents start here"
        elif row["may_retire"]:
            status = "legacy: no open run, may be retired (ADR 0019)"
        else:
            status = f"legacy: {row['open_runs']} open run(s) still finishing here; keep it"
        print(f"generation {row['generation']}  {row['workflow_type']:<17} open runs: {row['open_runs']:<6} {status}",
              file=out)
