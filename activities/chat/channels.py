"""Which chat awoooi talks in, built from Settings: the one place that picks a chat adapter.

Telegram is the only one today (activities/chat/telegram/); a second chat is one more branch here
and in its own package (docs/adr/0021-chat-port.md).
"""

from __future__ import annotations

import httpx

from activities.chat.telegram.client import TelegramClient
from activities.chat.telegram.renderer import TelegramRenderer
from core.ports import CardRenderer, ChatChannel, DocumentChannel
from core.settings import Settings


def telegram_client(settings: Settings, http: httpx.AsyncClient) -> TelegramClient | None:
    """The Bot API client, or None without AWOOOI_TELEGRAM_BOT_TOKEN (cards are then skipped)."""
    if settings.telegram_bot_token is None:
        return None
    return TelegramClient(http, settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base)


def chat_channel(settings: Settings, http: httpx.AsyncClient) -> ChatChannel | None:
    return telegram_client(settings, http)


def document_channel(chat: ChatChannel | None) -> DocumentChannel | None:
    """The chat's file upload (the Postmortem document), when its adapter has one (Telegram's does)."""
    return chat if isinstance(chat, TelegramClient) else None


def chat_renderer(settings: Settings) -> CardRenderer:
    """How the chat words cards, digests and notices (AWOOOI_LOCALE, AWOOOI_TIMEZONE)."""
    return TelegramRenderer(locale=settings.locale, tz=settings.tz)
