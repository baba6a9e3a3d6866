"""Reading a Telegram update without a server: taps from two real callback_query updates, the
tapper's display name, malformed updates, foreign button data, and the two secrets that guard
approvals (the setWebhook secret and the API token), whose errors never echo a secret."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydantic import SecretStr

from core.errors import AccessDenied, AuthenticationError, PayloadError
from core.repair import callback_data, parse_callback_data
from starter.auth import check_telegram_secret, require_api_token
from starter.telegram_updates import Tap, parse_tap
from tests.conftest import fixture_bytes

SECRET = "tg-webhook-s3cret_value-42"
API_TOKEN = "api-t0ken-for-approvals-9f"
TOKEN = "0123456789abcdef0123456789abcdef"


def fixture(name: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(name))


def tap_update(sender: dict[str, Any], data: str | None = "rp:a:" + TOKEN, update_id: int = 7) -> dict[str, Any]:
    query: dict[str, Any] = {"id": "cq-1", "from": sender, "chat_instance": "-1"}
    if data is not None:
        query["data"] = data
    return {"update_id": update_id, "callback_query": query}


# -- the real fixtures ----------------------------------------------------------------------------


def test_the_bot_tutorial_callback_query() -> None:
    tap = parse_tap(fixture("telegram_callback_query_update.json"))

    assert tap == Tap(update_id=734997099, callback_id="4278655576057498272", user_id=996202131,
                      who="@bijoyvbabu123", data="button2_bijoy", chat_id="996202131", message_id="60")
    assert parse_callback_data(tap.data) is None  # someone else's button: not ours


def test_the_official_webhooks_guide_callback_query() -> None:
    # An inline-mode query: no message, an inline_message_id instead.
    tap = parse_tap(fixture("telegram_callback_query_update_official_webhooks_guide.json"))

    assert tap == Tap(update_id=10000, callback_id="4382bfdwdsb323b2d9", user_id=1111111,
                      who="@Testusername", data="Data from button callback")
    assert parse_callback_data(tap.data) is None


def test_our_button_in_a_real_update_parses_back() -> None:
    update = fixture("telegram_callback_query_update.json")
    update["callback_query"]["data"] = callback_data(False, TOKEN)

    tap = parse_tap(update)

    assert tap is not None
    assert parse_callback_data(tap.data) == (False, TOKEN)


# -- not a tap ------------------------------------------------------------------------------------


def test_a_message_update_is_not_a_tap() -> None:
    update = {
        "update_id": 734997100,
        "message": {
            "message_id": 61, "date": 1686214600, "text": "/start",
            "from": {"id": 996202131, "is_bot": False, "first_name": "Bijoy", "username": "bijoyvbabu123"},
            "chat": {"id": 996202131, "first_name": "Bijoy", "type": "private"},
        },
    }
    assert parse_tap(update) is None


def test_an_update_of_another_kind_is_not_a_tap() -> None:
    assert parse_tap({"update_id": 1, "edited_message": {"message_id": 2}}) is None
    assert parse_tap({"update_id": 1}) is None


# -- malformed ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "update",
    [
        None,
        [],
        "update",
        {},
        {"update_id": "734997099", "callback_query": {}},
        {"update_id": 1.5},
        {"callback_query": {"id": "cq", "from": {"id": 1}}},
    ],
    ids=["null", "list", "string", "empty", "string-update-id", "float-update-id", "no-update-id"],
)
def test_not_an_update_is_a_payload_error(update: Any) -> None:
    with pytest.raises(PayloadError, match="update_id"):
        parse_tap(update)


@pytest.mark.parametrize(
    "query",
    [
        "cq-1",
        [],
        {"from": {"id": 1}},
        {"id": 123, "from": {"id": 1}},
        {"id": "cq-1"},
        {"id": "cq-1", "from": "alice"},
        {"id": "cq-1", "from": {"first_name": "Alice"}},
        {"id": "cq-1", "from": {"id": "1"}},
    ],
    ids=["string", "list", "no-id", "int-id", "no-from", "string-from", "from-without-id", "string-from-id"],
)
def test_a_malformed_callback_query_is_a_payload_error(query: Any) -> None:
    with pytest.raises(PayloadError, match="callback_query"):
        parse_tap({"update_id": 1, "callback_query": query})


def test_a_tap_without_data_has_empty_data() -> None:
    tap = parse_tap(tap_update({"id": 5, "username": "alice"}, data=None))

    assert tap is not None and tap.data == ""
    assert parse_callback_data(tap.data) is None


# -- who tapped -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "who"),
    [
        ({"id": 5, "first_name": "Alice", "last_name": "Liddell", "username": "alice"}, "@alice"),
        ({"id": 5, "first_name": "Alice", "last_name": "Liddell"}, "Alice Liddell"),
        ({"id": 5, "first_name": "Alice", "last_name": "Liddell", "username": ""}, "Alice Liddell"),
        ({"id": 5, "first_name": "Alice"}, "Alice"),
        ({"id": 5, "last_name": "Liddell"}, "Liddell"),
        ({"id": 5, "first_name": "王", "last_name": "小明"}, "王 小明"),
        ({"id": 5}, "5"),
        ({"id": 5, "first_name": "", "last_name": ""}, "5"),
    ],
)
def test_display_name(sender: dict[str, Any], who: str) -> None:
    tap = parse_tap(tap_update(sender))

    assert tap is not None
    assert tap.who == who
    assert tap.user_id == 5


def test_a_long_display_name_is_cut_to_what_a_decision_holds() -> None:
    tap = parse_tap(tap_update({"id": 5, "first_name": "A" * 64, "last_name": "B" * 64}))

    assert tap is not None and len(tap.who) == 100


# -- callback data --------------------------------------------------------------------------------


@pytest.mark.parametrize("approve", [True, False])
def test_our_callback_data_round_trips(approve: bool) -> None:
    data = callback_data(approve, TOKEN)

    assert len(data.encode()) <= 64
    assert parse_callback_data(data) == (approve, TOKEN)


@pytest.mark.parametrize(
    "data",
    ["", "button2_bijoy", "Data from button callback", "rp", "rp:a", "rp:a:", "rp:x:" + TOKEN,
     "rp:approve:" + TOKEN, "xx:a:" + TOKEN, "RP:a:" + TOKEN, "rp:a:tok:extra", ":a:" + TOKEN, "rp::" + TOKEN],
)
def test_foreign_callback_data_is_not_ours(data: str) -> None:
    assert parse_callback_data(data) is None


# -- the setWebhook secret ------------------------------------------------------------------------


def test_telegram_updates_are_closed_without_a_secret() -> None:
    with pytest.raises(AccessDenied) as denied:
        check_telegram_secret({"X-Telegram-Bot-Api-Secret-Token": SECRET}, None)
    assert "AWOOOI_TELEGRAM_WEBHOOK_SECRET" in str(denied.value)
    assert SECRET not in str(denied.value)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Telegram-Bot-Api-Secret-Token": ""},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"},
        {"X-Telegram-Bot-Api-Secret-Token": "wrong-but-plausible"},
        {"X-Telegram-Bot-Api-Secret-Token": "ünïcödé"},
        {"Authorization": f"Bearer {SECRET}"},
    ],
    ids=["missing", "empty", "prefix", "longer", "wrong", "non-ascii", "in-another-header"],
)
def test_a_wrong_telegram_secret_is_refused_without_echoing_either(headers: dict[str, str]) -> None:
    with pytest.raises(AuthenticationError) as refused:
        check_telegram_secret(headers, SecretStr(SECRET))

    message = f"{refused.value!s} {refused.value!r}"
    assert SECRET not in message and SECRET[:8] not in message
    for presented in headers.values():
        if presented:
            assert presented not in message


@pytest.mark.parametrize("name", ["X-Telegram-Bot-Api-Secret-Token", "x-telegram-bot-api-secret-token"])
def test_the_right_telegram_secret_passes_whatever_the_header_case(name: str) -> None:
    assert check_telegram_secret({name: SECRET}, SecretStr(SECRET)) is None


# -- the API token --------------------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_approvals_over_the_api_are_closed_without_a_token() -> None:
    with pytest.raises(AccessDenied) as denied:
        require_api_token({"Authorization": f"Bearer {API_TOKEN}"}, None)
    assert "AWOOOI_API_TOKEN" in str(denied.value)
    assert API_TOKEN not in str(denied.value)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {API_TOKEN}x"},
        {"Authorization": f"Bearer {API_TOKEN[:-1]}"},
        {"Authorization": f"Token {API_TOKEN}"},
        {"Authorization": basic("ops", "nope")},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(API_TOKEN.encode()).decode()},  # no colon
        {"X-Telegram-Bot-Api-Secret-Token": API_TOKEN},
    ],
    ids=["missing", "empty", "bearer-only", "bearer-blank", "longer", "prefix", "other-scheme", "basic-wrong",
         "basic-garbage", "basic-without-colon", "other-header"],
)
def test_a_wrong_api_token_is_refused_without_echoing_either(headers: dict[str, str]) -> None:
    with pytest.raises(AuthenticationError) as refused:
        require_api_token(headers, SecretStr(API_TOKEN))

    message = f"{refused.value!s} {refused.value!r}"
    assert API_TOKEN not in message and API_TOKEN[:8] not in message
    for presented in headers.values():
        credentials = presented.partition(" ")[2]
        if credentials:
            assert credentials not in message


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {API_TOKEN}"},
        {"authorization": f"bearer {API_TOKEN}"},
        {"Authorization": f"  Bearer   {API_TOKEN}  "},
        {"Authorization": basic("alice", API_TOKEN)},
        {"Authorization": basic("", API_TOKEN)},
    ],
    ids=["bearer", "lowercase", "spaces", "basic", "basic-no-user"],
)
def test_the_right_api_token_passes(headers: dict[str, str]) -> None:
    assert require_api_token(headers, SecretStr(API_TOKEN)) is None
