"""TelegramClient against the loopback Bot API over real HTTP: success paths, error mapping, and the
guarantee that the bot token (part of every URL) never leaks into an exception or a log line."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from activities.chat.telegram.client import TelegramClient
from core.chat import Button, ChatMessage
from core.errors import RateLimited, UpstreamError
from tests.loopback.telegram import TelegramLoopback

CHAT = "-1001234567890"


def M(text: str, buttons: list[list[Button]] | None = None) -> ChatMessage:  # noqa: N802 - reads as a literal
    return ChatMessage(text=text, buttons=buttons or [])


@pytest.fixture
def telegram() -> Iterator[TelegramLoopback]:
    with TelegramLoopback() as loopback:
        yield loopback


@pytest.fixture
def client(http: httpx.AsyncClient, telegram: TelegramLoopback) -> TelegramClient:
    return TelegramClient(http, telegram.token, telegram.base_url)


def _closed_port_url() -> str:
    """A loopback URL nobody listens on, so the connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _assert_no_token(exc: BaseException, token: str) -> None:
    assert token not in str(exc)
    assert token not in repr(exc)
    assert token not in str(exc.args)


async def test_send_then_edit_records_history(client: TelegramClient, telegram: TelegramLoopback) -> None:
    first = await client.send(CHAT, M("<b>hello</b> &amp; welcome"))
    second = await client.send(CHAT, M("second"))
    await client.edit(CHAT, first, M("<b>hello</b> edited"))

    assert (first, second) == ("1", "2")  # references are strings
    assert telegram.messages[1] == ["<b>hello</b> &amp; welcome", "<b>hello</b> edited"]
    body = telegram.sent[0]
    assert body["parse_mode"] == "HTML"
    assert body["link_preview_options"] == {"is_disabled": True}
    assert body["chat_id"] == CHAT
    assert [method for method, _ in telegram.calls] == ["sendMessage", "sendMessage", "editMessageText"]
    assert telegram.violations == []


async def test_edit_with_identical_text_is_success(client: TelegramClient, telegram: TelegramLoopback) -> None:
    message_id = await client.send(CHAT, M("same"))
    await client.edit(CHAT, message_id, M("same"))  # Telegram: 400 message is not modified
    assert telegram.edits == []
    assert telegram.messages[int(message_id)] == ["same"]
    assert telegram.violations == []


async def test_get_me(client: TelegramClient) -> None:
    me = await client.get_me()
    assert me["is_bot"] is True
    assert me["username"] == "awoooi_test_bot"
    assert await client.whoami() == "awoooi_test_bot"


async def test_answer_a_tap_and_check_the_chats(client: TelegramClient, telegram: TelegramLoopback) -> None:
    await client.answer("tap-1", "Approved", alert=True)
    assert telegram.calls[-1] == ("answerCallbackQuery", {"callback_query_id": "tap-1", "text": "Approved",
                                                          "show_alert": True})
    await client.check([CHAT])
    assert [method for method, _ in telegram.calls[-2:]] == ["getMe", "getChatMember"]
    assert await client.send_direct("42", M("just you")) == "1"
    assert telegram.sent[-1]["chat_id"] == "42"


async def test_buttons_are_an_inline_keyboard(client: TelegramClient, telegram: TelegramLoopback) -> None:
    markup = {"inline_keyboard": [[{"text": "Ack", "callback_data": "ack:inc-1"}]]}
    buttons = [[Button(label="Ack", data="ack:inc-1")]]
    message_id = await client.send(CHAT, M("with buttons", buttons))
    await client.edit(CHAT, message_id, M("with buttons", buttons))
    assert telegram.sent[0]["reply_markup"] == markup
    assert telegram.edits == []  # same text and markup: not modified
    assert telegram.violations == []


async def test_oversized_callback_data_is_rejected(client: TelegramClient, telegram: TelegramLoopback) -> None:
    buttons = [[Button(label="Ack", data="é" * 33)]]  # 33 characters, 66 bytes
    with pytest.raises(UpstreamError) as info:
        await client.send(CHAT, M("x", buttons))
    assert info.value.retryable is False
    assert telegram.violations


async def test_broken_html_is_a_non_retryable_400(client: TelegramClient, telegram: TelegramLoopback) -> None:
    with pytest.raises(UpstreamError) as info:
        await client.send(CHAT, M("<b>unclosed & bare"))
    assert info.value.retryable is False
    assert info.value.status_code == 400
    assert "can't parse entities" in str(info.value)
    assert len(telegram.violations) == 1


async def test_rate_limited_carries_retry_after(client: TelegramClient, telegram: TelegramLoopback) -> None:
    telegram.fail_next(
        "sendMessage",
        429,
        {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
         "parameters": {"retry_after": 3}},
    )
    with pytest.raises(RateLimited) as info:
        await client.send(CHAT, M("hi"))
    assert info.value.retry_after == 3
    assert info.value.retryable is True
    _assert_no_token(info.value, telegram.token)
    assert await client.send(CHAT, M("hi")) == "1"  # only the scripted call failed


async def test_rate_limited_without_parameters_defaults_to_one_second(
    client: TelegramClient, telegram: TelegramLoopback
) -> None:
    telegram.fail_next("editMessageText", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests"})
    message_id = await client.send(CHAT, M("a"))
    with pytest.raises(RateLimited) as info:
        await client.edit(CHAT, message_id, M("b"))
    assert info.value.retry_after == 1


async def test_wrong_token_is_not_retryable(http: httpx.AsyncClient, telegram: TelegramLoopback) -> None:
    secret = "999999:WRONG-secret-token"
    client = TelegramClient(http, secret, telegram.base_url)
    with pytest.raises(UpstreamError) as info:
        await client.send(CHAT, M("hi"))
    assert info.value.retryable is False
    assert info.value.status_code == 401
    _assert_no_token(info.value, secret)
    assert secret not in repr(client)


async def test_server_error_is_retryable(client: TelegramClient, telegram: TelegramLoopback) -> None:
    telegram.fail_next("getMe", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, times=2)
    for _ in range(2):
        with pytest.raises(UpstreamError) as info:
            await client.get_me()
        assert info.value.retryable is True
        assert info.value.status_code == 502
    assert (await client.get_me())["id"] == 123456


async def test_edit_of_unknown_message_is_not_retryable(client: TelegramClient, telegram: TelegramLoopback) -> None:
    with pytest.raises(UpstreamError) as info:
        await client.edit(CHAT, 42, M("text"))
    assert info.value.retryable is False
    assert "message to edit not found" in str(info.value)


async def test_connection_refused_is_retryable_and_token_free(http: httpx.AsyncClient) -> None:
    token = "555555:SUPER-secret-token"
    client = TelegramClient(http, token, _closed_port_url())
    with pytest.raises(UpstreamError) as info:
        await client.send(CHAT, M("hi"))
    assert info.value.retryable is True
    assert str(info.value) == "telegram sendMessage: ConnectError"
    _assert_no_token(info.value, token)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert token not in str(info.value.__cause__)


async def test_token_never_reaches_httpx_logs(
    client: TelegramClient, telegram: TelegramLoopback, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await client.send(CHAT, M("hi"))
        await client.get_me()
    assert any("HTTP Request" in record.getMessage() for record in caplog.records)
    assert telegram.token not in caplog.text


async def test_set_webhook_for_button_taps(telegram, http) -> None:
    from io import StringIO

    from core.settings import Settings
    from starter.ops_cli import set_telegram_webhook

    client = TelegramClient(http, telegram.token, telegram.base_url)
    settings = Settings(telegram_webhook_secret="s3cret_-token", telegram_approver_ids="42")
    out, err = StringIO(), StringIO()
    assert await set_telegram_webhook(client, settings, "https://awoooi.example.com/", out=out, err=err) == 0
    assert telegram.webhook == {"url": "https://awoooi.example.com/api/v1/webhooks/telegram",
                                "secret_token": "s3cret_-token", "allowed_updates": ["callback_query", "message"]}
    assert "s3cret" not in out.getvalue()
    refused = await set_telegram_webhook(client, settings, "http://plain.example.com", out=out, err=err)
    assert refused == 1 and "HTTPS URL must be provided" in err.getvalue()
    telegram.violations.clear()  # that refusal was the point
    assert await set_telegram_webhook(client, Settings(), "https://x.example.com", out=out, err=err) == 2


async def test_send_document_uploads_a_markdown_file_replying_to_the_card(client: TelegramClient,
                                                                          telegram: TelegramLoopback) -> None:
    card = int(await client.send(CHAT, M("<b>card</b>")))
    draft = "# Postmortem (draft)\n\n`alertmanager-x-1`\n\n| at | what |\n".encode()
    ref = await client.send_document(CHAT, "postmortem-alertmanager-x-1.md", draft, caption="📝 Postmortem draft",
                                     reply_to=str(card))
    assert int(ref) > card and not telegram.violations
    (sent,) = telegram.documents
    assert sent["document"] == {"filename": "postmortem-alertmanager-x-1.md", "content_type": "text/markdown",
                                "content": draft}
    assert sent["chat_id"] == CHAT and sent["caption"] == "📝 Postmortem draft"
    assert sent["reply_parameters"] == {"message_id": card, "allow_sending_without_reply": True}


async def test_send_document_contract_checks(http: httpx.AsyncClient, telegram: TelegramLoopback) -> None:
    """The loopback refuses what Telegram refuses: no file, a caption over 1024 characters, a reply to
    a message that is not there (without allow_sending_without_reply)."""
    url = f"{telegram.base_url}/bot{telegram.token}/sendDocument"
    empty = await http.post(url, data={"chat_id": CHAT})
    assert empty.status_code == 400 and "no document" in empty.json()["description"]
    long = await http.post(url, data={"chat_id": CHAT, "caption": "x" * 1025}, files={"document": ("a.md", b"#")})
    assert long.status_code == 400 and "caption is too long" in long.json()["description"]
    orphan = await http.post(url, data={"chat_id": CHAT, "reply_parameters": '{"message_id": 999}'},
                             files={"document": ("a.md", b"#")})
    assert orphan.status_code == 400 and "replied not found" in orphan.json()["description"]
    ok = await http.post(url, data={"chat_id": CHAT, "caption": "x" * 1024}, files={"document": ("a.md", b"# hi")})
    assert ok.status_code == 200
    result = ok.json()["result"]
    assert result["document"]["file_name"] == "a.md" and result["document"]["file_size"] == 4
    assert len(telegram.documents) == 1
    telegram.violations.clear()


async def test_send_document_refused_is_not_retryable(client: TelegramClient, telegram: TelegramLoopback) -> None:
    with pytest.raises(UpstreamError) as caught:
        await client.send_document(CHAT, "a.md", b"", caption="c")
    assert caught.value.status_code == 400 and not caught.value.retryable
    telegram.violations.clear()
