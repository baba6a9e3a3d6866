"""The repair settings read from real environment variables: approver ids, durations in seconds
or ISO 8601, the defaults, the executor name, blank secrets, and a repr that hides every secret."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from pydantic import SecretStr, ValidationError

from core.settings import Settings

SECRET_FIELDS = {
    "telegram_bot_token": "123456:bot-token-value-AAA",
    "sentry_api_token": "sntrys_api_token_value_BBB",
    "webhook_token": "webhook-token-value-CCC",
    "sentry_client_secret": "sentry-client-secret-DDD",
    "telegram_webhook_secret": "tg-webhook-secret-EEE",
    "api_token": "api-token-value-FFF",
    "repair_webhook_secret": "repair-webhook-secret-GGG",
    "llm_api_key": "sk-llm-api-key-HHH",
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: no AWOOOI_ variable of the developer's shell leaks in."""
    for name in list(os.environ):
        if name.startswith("AWOOOI_"):
            monkeypatch.delenv(name)


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"AWOOOI_{name.upper()}", value)
    return Settings()


# -- approver ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("1, 22", [1, 22]),
        ("5", [5]),
        ("111111111,222222222", [111111111, 222222222]),  # deploy/kubernetes/configmap.yaml
        (" 7 ,, 8 ,", [7, 8]),
        ("7;8", [7, 8]),
        ("", []),
    ],
)
def test_approver_ids_comma_separated(monkeypatch: pytest.MonkeyPatch, value: str, ids: list[int]) -> None:
    assert settings_with(monkeypatch, telegram_approver_ids=value).telegram_approver_ids == ids


def test_approver_ids_as_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_with(monkeypatch, telegram_approver_ids="[1,2]").telegram_approver_ids == [1, 2]


@pytest.mark.parametrize("value", ["alice", "1,bob", "1.5"])
def test_approver_ids_that_are_not_integers_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(ValidationError, match="telegram_approver_ids"):
        settings_with(monkeypatch, telegram_approver_ids=value)


# -- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("90", timedelta(seconds=90)),
        (" 90 ", timedelta(seconds=90)),
        ("1.5", timedelta(seconds=1.5)),
        ("PT30M", timedelta(minutes=30)),
        ("PT1H15M", timedelta(hours=1, minutes=15)),
        ("00:30:00", timedelta(minutes=30)),
    ],
)
def test_approval_timeout_in_seconds_iso_8601_or_clock(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: timedelta
) -> None:
    assert settings_with(monkeypatch, approval_timeout=value).approval_timeout == expected


@pytest.mark.parametrize(("value", "expected"), [("120", timedelta(minutes=2)), ("PT5M", timedelta(minutes=5))])
def test_verify_window_reads_the_same_way(monkeypatch: pytest.MonkeyPatch, value: str, expected: timedelta) -> None:
    assert settings_with(monkeypatch, verify_window=value).verify_window == expected


@pytest.mark.parametrize("value", ["0", "PT0S", "-5", "soon", "30 minutes"])
def test_a_zero_negative_or_unreadable_timeout_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(ValidationError, match="approval_timeout"):
        settings_with(monkeypatch, approval_timeout=value)


# -- defaults -------------------------------------------------------------------------------------


def test_repair_defaults() -> None:
    settings = Settings()

    assert settings.repair_executor == "dry-run"
    assert settings.auto_repair_confidence == 0.8
    assert (settings.repair_max_per_hour, settings.repair_max_per_day) == (3, 7)
    assert settings.approval_timeout == timedelta(minutes=30)
    assert settings.verify_window == timedelta(minutes=10)
    assert settings.telegram_approver_ids == []
    assert settings.telegram_webhook_secret is None and settings.api_token is None


def test_repair_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, repair_executor="kubernetes", auto_repair_confidence="0.95",
                             repair_max_per_hour="1", repair_max_per_day="2")

    assert settings.repair_executor == "kubernetes"
    assert settings.auto_repair_confidence == 0.95
    assert (settings.repair_max_per_hour, settings.repair_max_per_day) == (1, 2)


@pytest.mark.parametrize("name", ["ansible", "dry_run", "DRY-RUN", "k8s", ""])
def test_an_unknown_executor_is_refused(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    with pytest.raises(ValidationError, match="repair_executor"):
        settings_with(monkeypatch, repair_executor=name)


@pytest.mark.parametrize(
    ("field", "value"),
    [("auto_repair_confidence", "1.5"), ("auto_repair_confidence", "-0.1"), ("repair_max_per_hour", "-1")],
)
def test_out_of_range_repair_limits_are_refused(monkeypatch: pytest.MonkeyPatch, field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=field):
        settings_with(monkeypatch, **{field: value})


# -- secrets --------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(SECRET_FIELDS))
@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_blank_secret_is_unset(monkeypatch: pytest.MonkeyPatch, field: str, blank: str) -> None:
    assert getattr(settings_with(monkeypatch, **{field: blank}), field) is None


def test_secrets_are_read_as_secret_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, **SECRET_FIELDS)

    for field, value in SECRET_FIELDS.items():
        secret = getattr(settings, field)
        assert isinstance(secret, SecretStr), field
        assert secret.get_secret_value() == value


def test_repr_and_dumps_never_show_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, **SECRET_FIELDS, telegram_approver_ids="1,22")

    shown = "\n".join([repr(settings), str(settings), settings.model_dump_json(), repr(settings.model_dump())])
    for field, value in SECRET_FIELDS.items():
        assert value not in shown, field
        assert f"{field}=SecretStr('**********')" in repr(settings)


def test_an_invalid_setting_beside_secrets_does_not_echo_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # `awoooi` prints this ValidationError when it refuses to start.
    for field, value in SECRET_FIELDS.items():
        monkeypatch.setenv(f"AWOOOI_{field.upper()}", value)
    monkeypatch.setenv("AWOOOI_REPAIR_EXECUTOR", "ansible")

    with pytest.raises(ValidationError) as refused:
        Settings()

    for value in SECRET_FIELDS.values():
        assert value not in str(refused.value)


def test_repr_never_shows_the_redis_password(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, redis_url="redis://:valkey-pa55word-III@valkey.prod:6379/0")

    assert "valkey-pa55word-III" not in repr(settings)
