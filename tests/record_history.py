"""Record a history of the current incident workflow (generation 2, ``Incident``) into tests/histories/
(run by hand; never over an existing file: a recorded history is never re-recorded):

    .venv/bin/python -m tests.record_history incident2_lifecycle
    .venv/bin/python -m tests.record_history incident2_repair repair   # with an approved repair
    .venv/bin/python -m tests.record_history incident2_storm storm   # batches, folds, the paced count edit
    .venv/bin/python -m tests.record_history incident2_digest digest   # line, re-ask, own_card
    .venv/bin/python -m tests.record_history incident2_query_first query-first   # a query splits task 1
    .venv/bin/python -m tests.record_history incident2_budget budget   # a count edit held back by the budget
    .venv/bin/python -m tests.record_history v4_probe probe   # probe_v4_probe + incident2_v4_probe_{alertmanager,sentry}

Generation 1's histories (incident_v*.json, probe_v3_probe.json) were recorded the same way from the
code now frozen in workflows/legacy/.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from core.converter import data_converter
from temporalio.testing import WorkflowEnvironment

from core import search_attributes as sa
from starter.embedded import dynamic_config_args, free_port, valkey_server, venv_binary
from tests.loopback.sentry import SentryLoopback
from tests.loopback.telegram import TelegramLoopback
from tests.test_replay import (
    record_budget_lifecycle,
    record_digest_lifecycle,
    record_lifecycle,
    record_probe_run,
    record_query_in_first_task,
    record_repair_lifecycle,
    record_storm_lifecycle,
)


async def main(name: str, kind: str) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        valkey = valkey_server(Path(tmp), port=port)
        valkey.start()
        try:
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=venv_binary("temporal"), dev_server_extra_args=dynamic_config_args(), search_attributes=list(sa.ALL),
                data_converter=data_converter, ui=False)
            try:
                with TelegramLoopback() as telegram, SentryLoopback() as sentry:
                    url, queue = f"redis://127.0.0.1:{port}/0", f"record-{uuid.uuid4()}"
                    if kind == "probe":
                        histories = await record_probe_run(env.client, url, queue, telegram, sentry)
                        names = [f"probe_{name}", f"incident2_{name}_alertmanager", f"incident2_{name}_sentry"]
                        for file_name, recorded in zip(names, histories, strict=True):
                            out = Path(__file__).parent / "histories" / f"{file_name}.json"
                            assert not out.exists(), f"{out} exists: a recorded history is never re-recorded"
                            out.write_text(recorded.to_json())
                            print(f"wrote {out}")
                        return
                    if kind == "query-first":
                        history = await record_query_in_first_task(env.client, url, queue, telegram)
                    elif kind == "budget":
                        history = await record_budget_lifecycle(env.client, url, queue, telegram)
                    elif kind == "digest":
                        history = await record_digest_lifecycle(env.client, url, queue, telegram)
                    elif kind == "storm":
                        history = await record_storm_lifecycle(env.client, url, queue, telegram)
                    elif kind == "repair":
                        history = await record_repair_lifecycle(env.client, url, queue, telegram, Path(tmp))
                    else:
                        history = await record_lifecycle(env.client, url, queue, telegram)
            finally:
                await env.shutdown()
        finally:
            valkey.stop()
    out = Path(__file__).parent / "histories" / f"{name}.json"
    assert not out.exists(), f"{out} exists: a recorded history is never re-recorded"
    out.write_text(history.to_json())
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "incident2_lifecycle", sys.argv[2] if len(sys.argv) > 2 else ""))
