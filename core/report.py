"""What the incidents of a period say, computed from their episodes (core/timeline/episodes.py).

Pure: episodes in, a :class:`Report` out; the CLI reads them from Temporal (starter/report_cli.py).
- MTTA and MTTR per service, p50 and p90 (nearest rank, core/stats.py). MTTA only over episodes
  with a recorded acknowledgement; with none, the report says "no acknowledgement recorded"
  instead of a number. MTTR over resolved episodes only: an expired one has no time to resolve.
- The noisiest alerts (occurrences) and the flapping ones (re-opened, or fired again in a new
  lifecycle at least FLAP_LIFECYCLES times in the period).
- Per repair action: how often it worked once executed, with the 95 % Wilson interval, and its
  effect against incidents of the same anomaly that had a repair proposed but not executed
  (dry-runs, rejections, approvals that timed out, repairs the alert resolved before): the share
  resolved and the median time to resolve, each side with its count.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from core.stats import percentile, wilson_interval
from core.timeline.episodes import Episode

FLAP_LIFECYCLES = 3
TOP = 10
# Proposed and not executed: what an executed repair is compared with.
COMPARISON = frozenset({"dry_run", "rejected", "timed_out", "not_needed"})


class Quantiles(BaseModel):
    count: int
    p50_seconds: float | None = None
    p90_seconds: float | None = None


class ServiceRow(BaseModel):
    service: str
    incidents: int
    resolved: int
    expired: int
    mtta: Quantiles
    mttr: Quantiles


class AlertRow(BaseModel):
    alertname: str
    service: str
    incidents: int
    occurrences: int
    reopened: int = 0


class Side(BaseModel):
    incidents: int
    resolved: int
    median_resolve_seconds: float | None = None


class RepairRow(BaseModel):
    action: str
    executed: int
    worked: int
    success_rate: float | None = None
    wilson_low: float
    wilson_high: float
    with_repair: Side
    without_repair: Side


class Report(BaseModel):
    since: datetime
    until: datetime
    incidents: int
    acknowledgements: int
    services: list[ServiceRow] = Field(default_factory=list)
    noisiest: list[AlertRow] = Field(default_factory=list)
    flapping: list[AlertRow] = Field(default_factory=list)
    repairs: list[RepairRow] = Field(default_factory=list)

    @property
    def ack_recorded(self) -> bool:
        return self.acknowledgements > 0


def build(episodes: list[Episode], *, since: datetime, until: datetime) -> Report:
    inside = [e for e in episodes if since <= e.fired_at <= until]
    return Report(since=since, until=until, incidents=len(inside),
                  acknowledgements=sum(e.acked_at is not None for e in inside),
                  services=_services(inside), noisiest=_noisiest(inside), flapping=_flapping(inside),
                  repairs=_repairs(inside))


def _quantiles(values: list[timedelta]) -> Quantiles:
    seconds = [v.total_seconds() for v in values]
    return Quantiles(count=len(seconds), p50_seconds=percentile(seconds, 50), p90_seconds=percentile(seconds, 90))


def _services(episodes: list[Episode]) -> list[ServiceRow]:
    by: dict[str, list[Episode]] = defaultdict(list)
    for episode in episodes:
        by[episode.service].append(episode)
    rows = [ServiceRow(service=service, incidents=len(group), resolved=sum(e.resolved_at is not None for e in group),
                       expired=sum(e.expired_at is not None for e in group),
                       mtta=_quantiles([e.time_to_ack for e in group if e.time_to_ack is not None]),
                       mttr=_quantiles([e.time_to_resolve for e in group if e.time_to_resolve is not None]))
            for service, group in by.items()]
    return sorted(rows, key=lambda row: (-row.incidents, row.service))


def _by_alert(episodes: list[Episode]) -> dict[tuple[str, str], list[Episode]]:
    by: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    for episode in episodes:
        by[(episode.alertname, episode.service)].append(episode)
    return by


def _alert_row(key: tuple[str, str], group: list[Episode]) -> AlertRow:
    return AlertRow(alertname=key[0], service=key[1], incidents=len(group),
                    occurrences=sum(e.occurrences for e in group), reopened=sum(e.reopened for e in group))


def _noisiest(episodes: list[Episode]) -> list[AlertRow]:
    rows = [_alert_row(key, group) for key, group in _by_alert(episodes).items()]
    return sorted(rows, key=lambda row: (-row.occurrences, -row.incidents, row.alertname))[:TOP]


def _flapping(episodes: list[Episode]) -> list[AlertRow]:
    rows = [_alert_row(key, group) for key, group in _by_alert(episodes).items()]
    flapping = [row for row in rows if row.reopened > 0 or row.incidents >= FLAP_LIFECYCLES]
    return sorted(flapping, key=lambda row: (-(row.reopened + row.incidents), row.alertname))[:TOP]


def _side(episodes: list[Episode]) -> Side:
    times = [e.time_to_resolve.total_seconds() for e in episodes if e.time_to_resolve is not None]
    return Side(incidents=len(episodes), resolved=len(times), median_resolve_seconds=percentile(times, 50))


def _repairs(episodes: list[Episode]) -> list[RepairRow]:
    treated: dict[str, list[Episode]] = defaultdict(list)
    for episode in episodes:
        for action in {r.action for r in episode.repairs if r.result == "executed"}:
            treated[action].append(episode)
    rows = []
    for action, group in treated.items():
        outcomes = [r for e in group for r in e.repairs if r.action == action and r.result == "executed"]
        judged = [r for r in outcomes if r.worked is not None]
        worked = sum(bool(r.worked) for r in judged)
        low, high = wilson_interval(worked, len(judged))
        keys = {e.anomaly_key for e in group}
        compared = [e for e in episodes if e.anomaly_key in keys and not e.executed
                    and any(r.result in COMPARISON for r in e.repairs)]
        rows.append(RepairRow(action=action, executed=len(outcomes), worked=worked,
                              success_rate=worked / len(judged) if judged else None,
                              wilson_low=round(low, 4), wilson_high=round(high, 4),
                              with_repair=_side(group), without_repair=_side(compared)))
    return sorted(rows, key=lambda row: (-row.executed, row.action))
