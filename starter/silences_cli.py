"""`awoooi silences`: the silences in Valkey (what amtool and the card buttons made) and the
maintenance windows of AWOOOI_MAINTENANCE_FILE, as a table or JSON. Needs Valkey, not Temporal."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TextIO

from core.maintenance import MaintenanceWindow
from core.silences import Silence, SilenceState, format_time
from starter.ops_cli import table

SILENCE_COLUMNS = ("id", "state", "matchers", "starts", "ends", "created_by", "comment")
WINDOW_COLUMNS = ("window", "matchers", "now", "until")


def silence_rows(silences: list[Silence], now: datetime, *, include_expired: bool) -> list[dict[str, Any]]:
    order = {SilenceState.ACTIVE: 0, SilenceState.PENDING: 1, SilenceState.EXPIRED: 2}
    chosen = [s for s in silences if include_expired or s.state(now) is not SilenceState.EXPIRED]
    chosen.sort(key=lambda s: (order[s.state(now)], s.ends_at))
    return [{"id": s.id, "state": s.state(now).value, "matchers": ",".join(str(m) for m in s.matchers),
             "starts": format_time(s.starts_at), "ends": format_time(s.ends_at), "created_by": s.created_by,
             "comment": s.comment} for s in chosen]


def window_rows(windows: tuple[MaintenanceWindow, ...], now: datetime) -> list[dict[str, Any]]:
    rows = []
    for w in windows:
        inside = w.contains(now)
        until = w.leaves_at(now) if inside else None
        rows.append({"window": w.name, "matchers": ",".join(str(m) for m in w.matchers),
                     "now": "inside" if inside else "outside", "until": format_time(until) if until else None})
    return rows


def print_silences(silences: list[dict[str, Any]], windows: list[dict[str, Any]] | None, *, as_json: bool,
                   out: TextIO) -> None:
    if as_json:
        print(json.dumps({"silences": silences, "windows": windows or []}, ensure_ascii=False), file=out)
        return
    if silences:
        print(table(SILENCE_COLUMNS, [[_short(row[c]) for c in SILENCE_COLUMNS] for row in silences]), file=out)
    else:
        print("no silences", file=out)
    if windows is not None:
        print(file=out)
        print(table(WINDOW_COLUMNS, [[row[c] for c in WINDOW_COLUMNS] for row in windows]) if windows
              else "no maintenance windows", file=out)


def _short(value: Any, width: int = 60) -> Any:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
