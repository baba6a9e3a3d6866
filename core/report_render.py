"""The report as text, JSON, or one self-contained HTML page with inline SVG charts.

The page loads nothing: no script, no font, no stylesheet from the network (a Content-Security-Policy
meta says so to the browser too), so it can be mailed, attached to a ticket or opened offline.
"""

from __future__ import annotations

import json
from datetime import timedelta
from html import escape

from core.report import Quantiles, Report, RepairRow, Side
from core.timeline.postmortem import span

NO_ACK = "no acknowledgement recorded"
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _q(q: Quantiles) -> str:
    if q.count == 0 or q.p50_seconds is None or q.p90_seconds is None:
        return "-"
    return f"p50 {_d(q.p50_seconds)}, p90 {_d(q.p90_seconds)} (n={q.count})"


def _d(seconds: float | None) -> str:
    return "-" if seconds is None else span(timedelta(seconds=seconds))


def _side(side: Side) -> str:
    return f"{side.resolved}/{side.incidents} resolved, median {_d(side.median_resolve_seconds)}"


def _rate(row: RepairRow) -> str:
    if row.success_rate is None:
        return f"{row.executed} executed, none verified or found ineffective yet"
    return (f"{row.worked}/{row.executed} worked ({row.success_rate:.0%}, 95% Wilson "
            f"[{row.wilson_low:.3f}, {row.wilson_high:.3f}])")


def as_text(report: Report) -> str:
    lines = [f"awoooi report {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC: "
             f"{report.incidents} incident(s)", "", "per service (MTTA, MTTR):"]
    for row in report.services:
        mtta = _q(row.mtta) if report.ack_recorded else NO_ACK
        lines.append(f"  {row.service}: {row.incidents} incidents, {row.resolved} resolved, {row.expired} expired; "
                     f"MTTA {mtta}; MTTR {_q(row.mttr)}")
    lines += ["", "noisiest alerts:"] + [f"  {r.alertname} on {r.service}: {r.occurrences} occurrences in "
                                         f"{r.incidents} incident(s)" for r in report.noisiest]
    lines += ["", "flapping:"] + ([f"  {r.alertname} on {r.service}: {r.incidents} lifecycles, re-opened "
                                   f"{r.reopened} time(s)" for r in report.flapping] or ["  none"])
    lines += ["", "repairs:"] + ([f"  {r.action}: {_rate(r)}; with it {_side(r.with_repair)}; same anomaly "
                                  f"without it {_side(r.without_repair)}" for r in report.repairs] or ["  none executed"])
    return "\n".join(lines)


def as_json(report: Report) -> str:
    body = report.model_dump(mode="json")
    body["mtta_note"] = None if report.ack_recorded else NO_ACK
    return json.dumps(body, ensure_ascii=False)


# -- HTML --------------------------------------------------------------------------------------

_STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}
.note{color:#666}svg text{font:12px system-ui,sans-serif}"""


def _bars(title: str, rows: list[tuple[str, float, float | None]], unit: str) -> str:
    """Horizontal bars: a value each, and an optional second (p90, or a bound) drawn as a thin line."""
    if not rows:
        return f"<p class='note'>{escape(title)}: nothing to show</p>"
    top = max(max(v, w or 0.0) for _, v, w in rows) or 1.0
    height, label_w, width = 22, 260, 520
    parts = [f"<svg role='img' aria-label='{escape(title)}' width='{label_w + width + 120}' "
             f"height='{len(rows) * height + 30}'>",
             f"<text x='0' y='14' font-weight='bold'>{escape(title)}</text>"]
    for i, (label, value, second) in enumerate(rows):
        y = 24 + i * height
        bar = width * value / top
        parts.append(f"<text x='0' y='{y + 14}'>{escape(label[:38])}</text>")
        parts.append(f"<rect x='{label_w}' y='{y + 3}' width='{bar:.1f}' height='14' fill='#4a7fc1'/>")
        if second is not None:
            x2 = label_w + width * second / top
            parts.append(f"<rect x='{label_w}' y='{y + 9}' width='{x2 - label_w:.1f}' height='2' fill='#c1574a'/>")
        parts.append(f"<text x='{label_w + max(bar, (width * (second or 0) / top)) + 6:.1f}' y='{y + 14}'>"
                     f"{escape(_fmt(value, unit))}{escape(' / ' + _fmt(second, unit)) if second is not None else ''}"
                     f"</text>")
    parts.append("</svg>")
    return "".join(parts)


def _interval(rows: list[RepairRow]) -> str:
    """Success rate per action as a dot with its 95 % Wilson interval as a whisker, on 0..100 %."""
    if not rows:
        return "<p class='note'>No repair was executed in this period.</p>"
    height, label_w, width = 24, 200, 500
    parts = [f"<svg role='img' aria-label='repair success rates' width='{label_w + width + 140}' "
             f"height='{len(rows) * height + 44}'>",
             "<text x='0' y='14' font-weight='bold'>Repair success rate, 95 % Wilson interval</text>"]
    for tick in (0, 25, 50, 75, 100):
        x = label_w + width * tick / 100
        parts.append(f"<line x1='{x}' y1='22' x2='{x}' y2='{len(rows) * height + 26}' stroke='#ddd'/>"
                     f"<text x='{x - 8}' y='{len(rows) * height + 40}'>{tick}%</text>")
    for i, row in enumerate(rows):
        y = 30 + i * height
        low, high = label_w + width * row.wilson_low, label_w + width * row.wilson_high
        parts.append(f"<text x='0' y='{y + 5}'>{escape(row.action)}</text>")
        parts.append(f"<line x1='{low:.1f}' y1='{y}' x2='{high:.1f}' y2='{y}' stroke='#c1574a' stroke-width='2'/>")
        if row.success_rate is not None:
            parts.append(f"<circle cx='{label_w + width * row.success_rate:.1f}' cy='{y}' r='5' fill='#4a7fc1'/>")
        parts.append(f"<text x='{label_w + width + 8}' y='{y + 5}'>{row.worked}/{row.executed}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return _d(value) if unit == "s" else f"{value:g}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def as_html(report: Report) -> str:
    mtta_rows = [(r.service, r.mtta.p50_seconds or 0.0, r.mtta.p90_seconds) for r in report.services if r.mtta.count]
    mttr_rows = [(r.service, r.mttr.p50_seconds or 0.0, r.mttr.p90_seconds) for r in report.services if r.mttr.count]
    title = f"awoooi report {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}"
    mtta = _bars("MTTA per service (p50, p90 as the red line)", mtta_rows, "s") if report.ack_recorded else \
        f"<p class='note'>MTTA: {NO_ACK}.</p>"
    return "".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">",
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1><p>{report.incidents} incident(s) from {report.since:%Y-%m-%d %H:%M} to "
        f"{report.until:%Y-%m-%d %H:%M} UTC.</p>",
        "<h2>Per service</h2>",
        _table(["service", "incidents", "resolved", "expired", "MTTA", "MTTR"],
               [[r.service, str(r.incidents), str(r.resolved), str(r.expired),
                 _q(r.mtta) if report.ack_recorded else NO_ACK, _q(r.mttr)] for r in report.services]),
        mtta, _bars("MTTR per service (p50, p90 as the red line)", mttr_rows, "s"),
        "<h2>Noisiest alerts</h2>",
        _bars("occurrences", [(f"{r.alertname} · {r.service}", float(r.occurrences), None) for r in report.noisiest], ""),
        "<h2>Flapping</h2>",
        _table(["alert", "service", "lifecycles", "re-opened"],
               [[r.alertname, r.service, str(r.incidents), str(r.reopened)] for r in report.flapping])
        if report.flapping else "<p class='note'>None.</p>",
        "<h2>Repairs</h2>", _interval(report.repairs),
        _table(["action", "worked", "with the repair", "same anomaly, proposed but not executed"],
               [[r.action, _rate(r), _side(r.with_repair), _side(r.without_repair)] for r in report.repairs]),
        "<p class='note'>The comparison group: incidents of the same anomaly whose repair was a dry-run, rejected, "
        "not decided in time, or overtaken by the alert resolving.</p>",
        "</body></html>",
    ])
