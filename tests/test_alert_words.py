"""The alert's own words first (issue 22): the card quotes the alert's summary and description and
links its runbook, dashboard and generator URL before anything the knowledge base says; the analysis
carries the same words and links. Pure functions, checked on a real kube-prometheus alert."""

from __future__ import annotations

import json
from pathlib import Path

from activities.analysis import RuleAnalyzer
from activities.chat.telegram.render import render_card
from core.alert_words import alert_links, alert_words, runbook_url
from core.models import Alert, AlertStatus, IncidentStatus, Link, Source
from starter.analyze_cli import alerts_in
from tests.loopback.telegram import parse_telegram_html
from tests.test_render import T0, T1, UTC_TZ, make_view

EVALUATION = Path(__file__).parent / "evaluation" / "alerts.jsonl"
RUNBOOK = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubedaemonsetrolloutstuck"


def _kube_prometheus(name: str) -> Alert:
    for line in EVALUATION.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"].startswith("kube-prometheus:") and row["id"].endswith(f":{name}"):
            return alerts_in(row["payload"])[0]
    raise AssertionError(name)


def test_words_are_summary_then_description_each_once() -> None:
    alert = Alert(source=Source.ALERTMANAGER, fingerprint="f", status=AlertStatus.FIRING, title="X",
                  annotations={"summary": "Disk almost full.", "description": "Disk almost full.",
                               "runbook_url": RUNBOOK})
    assert alert_words(alert) == "Disk almost full."
    both = alert.model_copy(update={"annotations": {"summary": "S.", "description": "D  spread\nover lines."}})
    assert alert_words(both) == "S. — D spread over lines."
    assert alert_words(both, limit=4) == "S.…"


def test_links_are_runbook_dashboard_then_the_senders() -> None:
    alert = Alert(source=Source.ALERTMANAGER, fingerprint="f", status=AlertStatus.FIRING, title="X",
                  annotations={"runbook_url": RUNBOOK, "dashboard": "https://grafana.example/d/abc",
                               "description": "https://not-a-word.example"},
                  links=[Link(title="Source", url="http://prometheus:9090/graph?g0.expr=up"),
                         Link(title="Runbook", url=RUNBOOK)])
    assert [(link.title, link.url) for link in alert_links(alert)] == [
        ("Runbook", RUNBOOK), ("Dashboard", "https://grafana.example/d/abc"),
        ("Source", "http://prometheus:9090/graph?g0.expr=up")]
    assert runbook_url(alert) == RUNBOOK
    assert alert_words(alert) == ""  # a URL is not the alert's words
    no_runbook = alert.model_copy(update={"annotations": {"runbook_url": "see the wiki"}})
    assert runbook_url(no_runbook) is None


async def test_the_card_quotes_the_alert_and_links_its_runbook_first() -> None:
    alert = _kube_prometheus("KubeDaemonSetRolloutStuck")
    analysis = await RuleAnalyzer().analyze(alert)
    view = make_view().model_copy(update={"alert": alert, "analysis": analysis})
    card = render_card(view, locale="en", tz=UTC_TZ)
    parse_telegram_html(card)  # valid Telegram HTML
    quoted = card.split("\n")[2]
    assert quoted == ("<i>DaemonSet rollout is stuck. — DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} "
                      "has not finished or progressed for at least 15 minutes.</i>")
    links = card.split("<b>Links:</b> ", 1)[1]
    # Its generator URL is over Telegram's safe href length (a long expression), so it is counted.
    assert links.startswith(f'<a href="{RUNBOOK}">Runbook</a> · <a href="http://alertmanager-main-0:9093">')
    assert "+1 more" in links
    short = _kube_prometheus("KubeJobFailed")
    card = render_card(make_view().model_copy(update={"alert": short, "analysis": analysis}), locale="en", tz=UTC_TZ)
    assert card.split("<b>Links:</b> ", 1)[1].startswith(
        '<a href="https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubejobfailed">Runbook</a> · '
        '<a href="http://prometheus-k8s-0:9090/graph?g0.expr=')
    # The analysis carries the same words and links, and its fix starts from the runbook.
    assert analysis.alert_says.startswith("DaemonSet rollout is stuck.")
    assert analysis.alert_links[0] == Link(title="Runbook", url=RUNBOOK)
    assert analysis.fix_suggestion.startswith(f"Affected: namespace=monitoring, daemonset=node-exporter. "
                                              f"Follow the alert's runbook first: {RUNBOOK}")


def test_a_card_without_annotations_is_unchanged_in_shape() -> None:
    view = make_view(description="")
    card = render_card(view, locale="en", tz=UTC_TZ)
    assert "<i>" not in card.split("\n")[2]
    assert view.status is IncidentStatus.OPEN and T0 < T1
