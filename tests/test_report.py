"""`awoooi report` over the recorded histories of both generations, its HTML in headless Chromium,
and the repair comparison on episodes built by hand."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from core.report import build
from core.report_render import NO_ACK, as_html, as_text
from core.timeline import RunHistory, decode
from core.timeline.episodes import Episode, RepairOutcome, episodes
from starter.embedded import free_port
from starter.report_cli import parse_since
from tests.browser import Browser
from tests.test_console import ARTIFACTS, _chromium

HISTORIES = Path(__file__).parent / "histories"
SINCE = datetime(2020, 1, 1, tzinfo=UTC)
UNTIL = datetime(2030, 1, 1, tzinfo=UTC)


def _recorded() -> list[Episode]:
    found: list[Episode] = []
    for path in sorted(HISTORIES.glob("incident*.json")):
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        found += episodes(decode(path.stem, [RunHistory(path.stem, "r", history.events)]))
    return found


def test_the_recorded_incidents_of_both_generations_make_a_report() -> None:
    report = build(_recorded(), since=SINCE, until=UNTIL)
    assert report.incidents == 19 and report.acknowledgements == 0
    services = {row.service: row for row in report.services}
    assert services["example3"].incidents == 10 and services["example3"].mttr.count == 10
    assert services["checkout"].mtta.count == 0
    assert report.noisiest[0].alertname == "DiskRunningFull" and report.noisiest[0].service == "example3"
    scale_up = next(row for row in report.repairs if row.action == "scale_up")
    assert (scale_up.executed, scale_up.worked) == (3, 3)
    assert (scale_up.wilson_low, scale_up.wilson_high) == (0.4385, 1.0)  # 3 of 3 proves little
    text = as_text(report)
    assert f"MTTA {NO_ACK}" in text and "scale_up: 3/3 worked (100%, 95% Wilson [0.439, 1.000])" in text


def _episode(minutes: float | None, result: str, worked: bool | None = None, key: str = "hpa:checkout") -> Episode:
    fired = datetime(2026, 12, 1, tzinfo=UTC)
    episode = Episode(incident_id="i", fired_at=fired, service="checkout", alertname="KubeHpaMaxedOut",
                      anomaly_key=key, repairs=[RepairOutcome(action="scale_up", result=result, worked=worked)])
    if minutes is not None:
        episode.resolved_at = fired + timedelta(minutes=minutes)
    return episode


def test_a_repair_is_compared_with_the_same_anomaly_proposed_and_not_executed() -> None:
    treated = [_episode(3, "executed", True) for _ in range(8)] + [_episode(None, "executed", False)] * 2
    compared = [_episode(30, "dry_run"), _episode(40, "rejected"), _episode(None, "timed_out"),
                _episode(20, "not_needed")]
    elsewhere = [_episode(1, "dry_run", key="disk:db")]  # another anomaly: not compared
    report = build(treated + compared + elsewhere, since=SINCE, until=UNTIL)
    row = report.repairs[0]
    assert (row.executed, row.worked, row.wilson_low, row.wilson_high) == (10, 8, 0.4902, 0.9433)  # the 8/10
    assert (row.with_repair.incidents, row.with_repair.resolved, row.with_repair.median_resolve_seconds) == (10, 8, 180)
    assert (row.without_repair.incidents, row.without_repair.resolved) == (4, 3)
    assert row.without_repair.median_resolve_seconds == 30 * 60


def test_mtta_appears_once_acknowledgements_are_recorded() -> None:
    acked = _episode(10, "dry_run")
    acked.acked_at = acked.fired_at + timedelta(minutes=2)
    report = build([acked, _episode(5, "dry_run")], since=SINCE, until=UNTIL)
    assert report.ack_recorded and report.services[0].mtta.p50_seconds == 120
    assert NO_ACK not in as_text(report)


def test_since_reads_days_hours_minutes() -> None:
    assert parse_since("7d") == timedelta(days=7) and parse_since("24h") == timedelta(hours=24)
    with pytest.raises(ValueError):
        parse_since("a week")


def _whole_page(browser: Browser, path: Path) -> None:
    """The page from top to bottom, not just the window: the repair chart is below the fold."""
    height = browser.call("Runtime.evaluate", expression="document.documentElement.scrollHeight",
                          returnByValue=True)["result"]["value"]
    shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": 1200, "height": height, "scale": 1})
    path.write_bytes(base64.b64decode(shot["data"]))


async def test_the_html_page_is_self_contained_and_renders_in_chromium(tmp_path: Path) -> None:
    report = build(_recorded() + [_episode(3, "executed", True) for _ in range(8)]
                   + [_episode(None, "executed", False)] * 2 + [_episode(30, "dry_run")], since=SINCE, until=UNTIL)
    page = as_html(report)
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*['"]?https?:""", page), "nothing loaded from the network"
    assert page.count("<svg") >= 3
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    chromium = _chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    browser = await asyncio.to_thread(Browser, chromium, tmp_path / "chromium-profile", free_port())
    try:
        text = await asyncio.to_thread(browser.text_after, path.as_uri(), "Repairs", 20.0)
        await asyncio.to_thread(_whole_page, browser, ARTIFACTS / "report.png")
    finally:
        await asyncio.to_thread(browser.close)
    assert "Per service" in text and "Noisiest alerts" in text and NO_ACK in text
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
