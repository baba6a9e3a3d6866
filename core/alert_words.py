"""The alert's own words and links, before anything awoooi says about it.

kube-prometheus and the mixins put a ``summary``, a ``description`` and a ``runbook_url`` on most
alerts; Grafana-managed and many hand-written rules add a dashboard. An operator trusts those more
than any knowledge base, so the card quotes them first and links them (render.py), the analysis
carries them (``Analysis.alert_says``/``alert_links``) and the LLM prompt receives them. Pure
functions of the :class:`Alert`: no I/O, deterministic, so a re-rendered card is byte-identical.
"""

from __future__ import annotations

from core.models import Alert, Link

__all__ = ["alert_links", "alert_words", "runbook_url"]

RUNBOOK_KEYS = ("runbook_url", "runbook", "runbookURL", "runbookUrl", "playbook", "playbook_url")
DASHBOARD_KEYS = ("dashboard", "dashboard_url", "dashboardURL", "dashboardUrl", "grafana_url",
                  "grafana_dashboard", "panel_url", "__dashboardUid__url")
_WORD_KEYS = ("summary", "description", "message", "info")
MAX_WORDS = 800


def _http(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value.lower().startswith(("http://", "https://")) and " " not in value else None


def runbook_url(alert: Alert) -> str | None:
    """The alert's runbook, when it links one."""
    for key in RUNBOOK_KEYS:
        url = _http(alert.annotations.get(key))
        if url:
            return url
    return None


def alert_words(alert: Alert, limit: int = MAX_WORDS) -> str:
    """Summary and description (or message/info) as the alert states them, each once, in that order."""
    seen: list[str] = []
    for key in _WORD_KEYS:
        text = " ".join((alert.annotations.get(key) or "").split())
        if text and not _http(text) and not any(text in other or other in text for other in seen):
            seen.append(text)
        elif text and any(other in text for other in seen):  # the longer one says more
            seen = [text if other in text else other for other in seen]
    words = " — ".join(dict.fromkeys(seen))
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def alert_links(alert: Alert) -> list[Link]:
    """Runbook, dashboard, then the sender's links (the rule's generator URL, the sender's UI)."""
    found: list[Link] = []
    url = runbook_url(alert)
    if url:
        found.append(Link(title="Runbook", url=url))
    for key in DASHBOARD_KEYS:
        url = _http(alert.annotations.get(key))
        if url:
            found.append(Link(title="Dashboard", url=url))
            break
    found += alert.links
    unique: dict[str, Link] = {}
    for link in found:
        unique.setdefault(link.url.strip(), link)
    return list(unique.values())
