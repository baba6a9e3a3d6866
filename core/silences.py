"""Silences as Alertmanager has them: matchers over an alert's labels, a start, an end, who and why.

Pure: no I/O, no clock. Every question that depends on time takes ``now``, so a workflow (with
``workflow.now()``), the API (with the wall clock) and a test (with any instant) get the same answer.

Alertmanager's semantics, kept on purpose so ``amtool`` and people who know Alertmanager are right:

- a regex matcher is anchored and must match the whole value (``^(?:re)$``); a label that is absent
  has the value ``""``;
- a silence needs at least one matcher, and not all of them may match the empty string (else it would
  silence every alert);
- state: ``pending`` before ``startsAt``, ``active`` until ``endsAt``, then ``expired``. At exactly
  ``endsAt`` it is expired here (Alertmanager says active for that one instant): expiring a silence sets
  ``endsAt`` to now and must answer "expired" at once.

Matcher text (``alertname="X"``, ``a=~"b.*"``, ``a!=b``, ``{a="b",c=~"d"}``) is parsed as Alertmanager
0.25's ``pkg/labels`` parser does, so what ``amtool`` accepts is accepted here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from enum import Enum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from core.errors import PayloadError

__all__ = ["Matcher", "Silence", "SilenceInvalid", "SilenceState", "format_time", "labels_matchers",
           "parse_duration", "parse_matcher", "parse_matchers", "to_ms"]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Alertmanager 0.25 pkg/labels/parse.go: name, operator, raw value (quoted or not).
_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


class SilenceInvalid(PayloadError):
    """A silence or matcher Alertmanager would refuse; the message says which part and why."""


class SilenceState(str, Enum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


class Matcher(BaseModel):
    """One label condition, in Alertmanager API v2's JSON shape (``isEqual`` false negates it)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    name: str
    value: str
    is_regex: bool = Field(default=False, alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")

    def check(self) -> None:
        """Alertmanager's validateMatcher: a label name, and a regex that compiles."""
        if not _LABEL_NAME.match(self.name):
            raise SilenceInvalid(f"invalid label name {self.name!r} (letters, digits and _, not first a digit)")
        if self.is_regex:
            self._pattern()

    def _pattern(self) -> re.Pattern[str]:
        try:
            return _compiled(self.value)
        except re.error as exc:
            raise SilenceInvalid(f"invalid regular expression {self.value!r} for {self.name}: {exc}") from exc

    def matches_value(self, value: str) -> bool:
        hit = bool(self._pattern().fullmatch(value)) if self.is_regex else value == self.value
        return hit if self.is_equal else not hit

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self.matches_value(labels.get(self.name, ""))

    def __str__(self) -> str:
        op = ("=~" if self.is_regex else "=") if self.is_equal else ("!~" if self.is_regex else "!=")
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{op}"{escaped}"'


def _compiled(value: str) -> re.Pattern[str]:
    """Anchored as Alertmanager anchors (``^(?:re)$``, here by ``fullmatch``); ``re`` caches it."""
    return re.compile(f"(?:{value})")


class Silence(BaseModel):
    """A silence as Alertmanager's API v2 shows it (``status`` is computed, see :meth:`state`)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = ""
    matchers: list[Matcher]
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime = Field(alias="endsAt")
    created_by: str = Field(default="", alias="createdBy")
    comment: str = ""
    updated_at: AwareDatetime | None = Field(default=None, alias="updatedAt")

    @field_validator("starts_at", "ends_at", "updated_at")
    @classmethod
    def _milliseconds(cls, value: datetime | None) -> datetime | None:
        """Kept to the millisecond the API shows, so a silence read and posted back (``amtool silence
        update``) has the very start it had and is updated in place, not replaced."""
        return None if value is None else to_ms(value)

    def check(self) -> None:
        """Alertmanager's validateSilence, plus the API's required createdBy and comment."""
        if not self.matchers:
            raise SilenceInvalid("at least one matcher required")
        for i, matcher in enumerate(self.matchers):
            try:
                matcher.check()
            except SilenceInvalid as exc:
                raise SilenceInvalid(f"invalid label matcher {i}: {exc}") from exc
        if all(m.matches_value("") for m in self.matchers):
            raise SilenceInvalid("at least one matcher must not match the empty string "
                                 "(else the silence would silence every alert)")
        if self.ends_at < self.starts_at:
            raise SilenceInvalid("end time must not be before start time")
        if not self.created_by.strip():
            raise SilenceInvalid("createdBy is required")
        if not self.comment.strip():
            raise SilenceInvalid("comment is required")

    def state(self, now: datetime) -> SilenceState:
        if now < self.starts_at:
            return SilenceState.PENDING
        if now >= self.ends_at:
            return SilenceState.EXPIRED
        return SilenceState.ACTIVE

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Every matcher holds (an absent label is ``""``)."""
        return all(m.matches(labels) for m in self.matchers)

    def silences(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.state(now) is SilenceState.ACTIVE and self.matches(labels)

    def same_matchers(self, other: Silence) -> bool:
        return self.matchers == other.matchers

    def api_json(self, now: datetime) -> dict[str, object]:
        """Alertmanager API v2's gettableSilence, times as RFC 3339 with milliseconds."""
        return {"id": self.id, "status": {"state": self.state(now).value},
                "updatedAt": format_time(self.updated_at or self.starts_at),
                "matchers": [m.model_dump(by_alias=True) for m in self.matchers],
                "startsAt": format_time(self.starts_at), "endsAt": format_time(self.ends_at),
                "createdBy": self.created_by, "comment": self.comment}


def to_ms(at: datetime) -> datetime:
    """``at`` in UTC, cut to the millisecond."""
    utc = at.astimezone(timezone.utc)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def format_time(at: datetime) -> str:
    """``2026-12-06T16:00:00.000Z``, the form Alertmanager writes (amtool reads it back)."""
    utc = at.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def labels_matchers(labels: Mapping[str, str]) -> list[Matcher]:
    """A silence "on the incident's own labels": one equality matcher per non-empty label, sorted."""
    return [Matcher(name=k, value=v) for k, v in sorted(labels.items()) if v and _LABEL_NAME.match(k)]


def parse_matchers(text: str) -> list[Matcher]:
    """``{a="b",c=~"d"}`` or ``a=b, c!~"x,y"``: commas inside quotes belong to the value."""
    body = text.strip()
    body = body.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    token, quoted, escaped = "", False, False
    for ch in body:
        if ch == "," and not quoted:
            tokens.append(token)
            token = ""
            continue
        if ch == '"':
            if escaped:
                escaped = False
            else:
                quoted = not quoted
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        token += ch
    if token.strip():
        tokens.append(token)
    return [parse_matcher(t) for t in tokens]


def parse_matcher(text: str) -> Matcher:
    found = _MATCHER.match(text)
    if found is None:
        raise SilenceInvalid(f"bad matcher format: {text.strip()!r} (expected name=\"value\", name!=value, "
                             "name=~\"regex\" or name!~\"regex\")")
    name, op, raw = found.groups()
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    value: list[str] = []
    escaped = False
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            value.append("\n" if ch == "n" else ch if ch in '"\\' else "\\" + ch)
            continue
        if ch == "\\":
            if i < len(raw) - 1:
                escaped = True
                continue
            value.append("\\")
        elif ch == '"':
            if not quoted or i < len(raw) - 1:
                raise SilenceInvalid(f"matcher value contains an unescaped double quote: {raw!r}")
            quoted = False
        else:
            value.append(ch)
    if quoted:
        raise SilenceInvalid(f"matcher value misses its closing double quote: {text.strip()!r}")
    matcher = Matcher(name=name, value="".join(value), is_regex=op in ("=~", "!~"), is_equal=op in ("=", "=~"))
    matcher.check()
    return matcher


def parse_duration(text: str) -> timedelta:
    """Prometheus durations as amtool takes them: ``1h``, ``90m``, ``1d12h``, ``2w``."""
    found = _DURATION.match(text.strip())
    if not text.strip() or found is None:
        raise SilenceInvalid(f"bad duration {text!r} (like 1h, 30m, 1d12h, 2w)")
    seconds = sum(int(n) * unit for n, unit in zip(found.groups(), _DURATION_UNITS, strict=True) if n)
    if seconds <= 0:
        raise SilenceInvalid(f"duration {text!r} must be longer than zero")
    return timedelta(seconds=seconds)
