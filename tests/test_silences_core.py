"""core/silences.py: Alertmanager's matcher semantics and syntax, silence validation and state,
in simulated time (every answer takes ``now``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.silences import (
    Matcher,
    Silence,
    SilenceInvalid,
    SilenceState,
    format_time,
    labels_matchers,
    parse_duration,
    parse_matcher,
    parse_matchers,
)

T0 = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)


def silence(*matchers: Matcher, start: datetime = T0, hours: float = 1) -> Silence:
    return Silence(id="s1", matchers=list(matchers), startsAt=start, endsAt=start + timedelta(hours=hours),
                   createdBy="alice", comment="night shift")


def test_regex_is_anchored_and_must_match_the_whole_value() -> None:
    m = Matcher(name="instance", value="web.*", isRegex=True)
    assert m.matches({"instance": "web-1"})
    assert not m.matches({"instance": "api-web-1"})  # not a search: ^(?:web.*)$
    alt = Matcher(name="env", value="prod|staging", isRegex=True)
    assert alt.matches({"env": "staging"}) and not alt.matches({"env": "production"})


def test_absent_label_is_the_empty_string_and_is_equal_false_negates() -> None:
    assert Matcher(name="team", value="").matches({})
    assert Matcher(name="team", value="db", isEqual=False).matches({})
    assert not Matcher(name="team", value="db", isEqual=False).matches({"team": "db"})
    assert Matcher(name="team", value="d.*", isRegex=True, isEqual=False).matches({"team": "web"})


@pytest.mark.parametrize(("text", "expected"), [
    ('alertname="HighCPU"', [("alertname", "HighCPU", False, True)]),
    ('instance=~"web.*"', [("instance", "web.*", True, True)]),
    ("env!=prod", [("env", "prod", False, False)]),
    ('job!~"node|cadvisor"', [("job", "node|cadvisor", True, False)]),
    ('{a="b",c=~"d"}', [("a", "b", False, True), ("c", "d", True, True)]),
    ('a="x,y", b = z', [("a", "x,y", False, True), ("b", "z", False, True)]),
    (r'msg="say \"hi\"\n"', [("msg", 'say "hi"\n', False, True)]),
])
def test_matcher_syntax_as_amtool_accepts_it(text: str, expected: list[tuple[str, str, bool, bool]]) -> None:
    assert [(m.name, m.value, m.is_regex, m.is_equal) for m in parse_matchers(text)] == expected


def test_a_matcher_prints_back_as_it_parses() -> None:
    for text in ('alertname="A b"', 'x=~"a|b"', 'y!="q\\"uote"', 'z!~".*"'):
        assert str(parse_matcher(text)) == text


@pytest.mark.parametrize(("text", "message"), [
    ("alertname", "bad matcher format"),
    ('a="b', "closing double quote"),
    ('a="b"c"', "unescaped double quote"),
    ('a=~"(unclosed"', "invalid regular expression"),
    ('a:b="c"', "invalid label name"),
])
def test_bad_matchers_say_why(text: str, message: str) -> None:
    with pytest.raises(SilenceInvalid, match=message):
        parse_matchers(text)


def test_state_in_simulated_time() -> None:
    s = silence(Matcher(name="alertname", value="X"), start=T0, hours=1)
    assert s.state(T0 - timedelta(seconds=1)) is SilenceState.PENDING
    assert s.state(T0) is SilenceState.ACTIVE
    assert s.state(T0 + timedelta(minutes=59, seconds=59)) is SilenceState.ACTIVE
    assert s.state(T0 + timedelta(hours=1)) is SilenceState.EXPIRED  # expiring sets endsAt=now: expired at once
    labels = {"alertname": "X", "severity": "page"}
    assert not s.silences(labels, T0 - timedelta(minutes=1))
    assert s.silences(labels, T0 + timedelta(minutes=30))
    assert not s.silences(labels, T0 + timedelta(hours=2))
    assert not s.silences({"alertname": "Y"}, T0 + timedelta(minutes=30))


@pytest.mark.parametrize(("silence_", "message"), [
    (Silence(matchers=[], startsAt=T0, endsAt=T0 + timedelta(hours=1), createdBy="a", comment="c"),
     "at least one matcher required"),
    (Silence(matchers=[Matcher(name="a", value=".*", isRegex=True)], startsAt=T0, endsAt=T0 + timedelta(hours=1),
             createdBy="a", comment="c"), "must not match the empty string"),
    (Silence(matchers=[Matcher(name="a", value="b")], startsAt=T0, endsAt=T0 - timedelta(hours=1),
             createdBy="a", comment="c"), "end time must not be before start time"),
    (Silence(matchers=[Matcher(name="a", value="(", isRegex=True)], startsAt=T0, endsAt=T0 + timedelta(hours=1),
             createdBy="a", comment="c"), "invalid label matcher 0: invalid regular expression"),
    (Silence(matchers=[Matcher(name="a", value="b")], startsAt=T0, endsAt=T0 + timedelta(hours=1),
             createdBy="", comment="c"), "createdBy is required"),
])
def test_validation_messages(silence_: Silence, message: str) -> None:
    with pytest.raises(SilenceInvalid, match=message):
        silence_.check()


def test_api_json_is_alertmanagers_shape() -> None:
    s = silence(Matcher(name="alertname", value="X"))
    body = s.api_json(T0 + timedelta(minutes=1))
    assert body == {"id": "s1", "status": {"state": "active"}, "updatedAt": "2026-12-06T22:00:00.000Z",
                    "matchers": [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}],
                    "startsAt": "2026-12-06T22:00:00.000Z", "endsAt": "2026-12-06T23:00:00.000Z",
                    "createdBy": "alice", "comment": "night shift"}
    assert Silence.model_validate(body).matchers == s.matchers
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"


def test_own_labels_and_durations() -> None:
    assert [str(m) for m in labels_matchers({"severity": "page", "alertname": "X", "empty": ""})] == [
        'alertname="X"', 'severity="page"']
    assert parse_duration("1h") == timedelta(hours=1)
    assert parse_duration("1d12h30m") == timedelta(days=1, hours=12, minutes=30)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("", "1x", "0s", "h1"):
        with pytest.raises(SilenceInvalid):
            parse_duration(bad)
