"""The signals an alert carries, extracted once: name words, PromQL metric names and functions,
descriptive labels and annotation text.

Alertmanager puts the rule's PromQL in ``generatorURL`` (``g0.expr=``); SigNoz and custom senders
put a query in an annotation or label; Sentry metric alerts carry ``aggregate``/``query`` labels.
Metric names are the strongest technology evidence (an exporter prefixes all of its metrics), the
alert name is the strongest evidence of the failure mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from core.models import Alert

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+[a-z]*|[\u4e00-\u9fff]+")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE)
_RANGES = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_PROMQL_WORDS = frozenset(
    "sum avg min max count rate irate increase delta idelta deriv predict_linear histogram_quantile "
    "quantile_over_time avg_over_time min_over_time max_over_time sum_over_time count_over_time "
    "last_over_time stddev_over_time stdvar_over_time changes resets absent absent_over_time time vector "
    "scalar label_replace label_join round abs ceil floor clamp clamp_min clamp_max topk bottomk count_values "
    "stddev stdvar and or unless bool offset by without on ignoring group_left group_right sort sort_desc "
    "quantile timestamp day_of_week hour minute sgn exp ln log2 log10 sqrt e inf nan".split()
)
_DESCRIPTIVE_LABELS = ("job", "service", "service_name", "container", "app", "component", "exporter",
                       "db_system", "dataset", "aggregate", "query", "type", "reason", "pool", "area")
_UP_IS_ZERO = re.compile(r"\b(?:up|\w+_up)\b(?:\{[^}]*\})?\s*(?:==\s*0|<\s*1)\b")
_QUERY_KEYS = ("query", "expr", "expression", "promql", "rule_query")


@dataclass
class Signals:
    name_words: str  # the alert name split into lower-case words, space-joined
    first_word: str
    metrics: list[str] = field(default_factory=list)  # metric names from the expression(s), lower case
    functions: list[str] = field(default_factory=list)
    labels: str = ""  # descriptive label values
    text: str = ""  # summary/description/title
    expressions: list[str] = field(default_factory=list)

    def metric_words(self) -> str:
        """Metric names and functions as words, for failure-mode matching ("absent" -> absence)."""
        words = [" ".join(m.replace(":", "_").split("_")) for m in self.metrics]
        if "absent" in self.functions or "absent_over_time" in self.functions:
            words.append("absent")
        if "predict_linear" in self.functions:
            words.append("filling")
        if "changes" in self.functions and any("start_time" in m for m in self.metrics):
            words.append("restarts")
        if any(_UP_IS_ZERO.search(e) for e in self.expressions):
            words.append("down")
        return " ".join(words)


def split_words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def metrics_in(expr: str) -> tuple[list[str], list[str]]:
    """Metric names and function names in a PromQL (or PromQL-like) expression."""
    functions = [f.lower() for f in re.findall(r"([A-Za-z_]+)\s*\(", expr)]
    bare = _RANGES.sub(" ", _MATCHERS.sub(" ", _GROUPING.sub(" ", _STRINGS.sub(" ", expr))))
    metrics: list[str] = []
    for ident in _IDENT.findall(bare):
        low = ident.lower()
        if low in _PROMQL_WORDS or low in metrics:
            continue
        if "_" in low or low == "up":
            metrics.append(low)
    return metrics, functions


def _expressions(alert: Alert) -> list[str]:
    found: list[str] = []
    for link in alert.links:
        query = parse_qs(urlsplit(link.url).query)
        for key, values in query.items():
            if key.endswith(".expr") or key in _QUERY_KEYS:
                found.extend(values)
    for source in (alert.annotations, alert.labels):
        for key in _QUERY_KEYS:
            if source.get(key):
                found.append(source[key])
    for value in alert.annotations.values():
        if "Query:" in value:
            found.append(value.split("Query:", 1)[1])
    if alert.labels.get("aggregate"):
        found.append(alert.labels["aggregate"])
    return found


def extract(alert: Alert) -> Signals:
    names = [alert.alertname]
    if alert.title and alert.title != alert.alertname:
        names.append(alert.title)
    words = split_words(" ".join(names))
    exprs = _expressions(alert)
    metrics: list[str] = []
    functions: list[str] = []
    for expr in exprs:
        m, f = metrics_in(expr)
        metrics += [x for x in m if x not in metrics]
        functions += f
    labels = " ".join(alert.labels.get(k, "") for k in _DESCRIPTIVE_LABELS if alert.labels.get(k))
    text_parts = [v for k, v in alert.annotations.items() if not v.startswith(("http://", "https://", "/"))]
    text = " ".join(" ".join(split_words(t)) for t in text_parts)
    return Signals(
        name_words=" ".join(words),
        first_word=words[0] if words else "",
        metrics=metrics,
        functions=functions,
        labels=" ".join(split_words(labels)),
        text=text,
        expressions=exprs,
    )
