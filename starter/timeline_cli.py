"""`awoooi timeline <incident-id>` and `awoooi postmortem <incident-id>`: an incident read back from
Temporal's histories (starter/timeline_reader.py), printed as text, JSON, Markdown or a postmortem draft."""

from __future__ import annotations

from typing import TextIO

from temporalio.client import Client

from core.errors import IntakeUnavailable, NotFound
from core.settings import Settings
from core.timeline.postmortem import postmortem
from core.timeline.render import as_json, as_markdown, as_text
from starter.timeline_reader import read_timeline


async def timeline_command(client: Client, settings: Settings, incident_id: str, *, fmt: str,
                           out: TextIO, err: TextIO) -> int:
    try:
        timeline = await read_timeline(client, incident_id)
    except (NotFound, IntakeUnavailable) as exc:
        print(f"awoooi: {exc}", file=err)
        return 1
    tz = settings.tz
    if fmt == "postmortem":
        print(postmortem(timeline, locale=settings.locale, tz=tz), file=out)
    else:
        render = {"json": as_json, "markdown": as_markdown}.get(fmt, as_text)
        print(render(timeline, tz), file=out)
    return 0
