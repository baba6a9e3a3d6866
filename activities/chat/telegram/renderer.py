"""Telegram's words for what awoooi shows: implements ``core.ports.CardRenderer``.

The card, escalation and digest texts are Telegram HTML (render.py, render_digest.py); the
Approve/Reject buttons go under a card while, and only while, a decision is awaited.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from activities.chat.telegram.render import ack_button, approval_keyboard, render_card, render_escalation, render_renotify
from activities.chat.telegram.render_digest import render_digest, render_digest_line
from activities.chat.telegram.postmortem_render import postmortem_buttons
from activities.chat.telegram.silence_render import silence_buttons
from core.chat import Button, ChatMessage
from core.models import IncidentView
from core.repair import RepairState


class TelegramRenderer:
    def __init__(self, *, locale: str, tz: ZoneInfo) -> None:
        self._locale = locale
        self._tz = tz

    def card(self, view: IncidentView, repair: RepairState | None, *, may_repeat: bool = False) -> ChatMessage:
        text = render_card(view, locale=self._locale, tz=self._tz, repair=repair, may_repeat=may_repeat)
        buttons = self._approval(repair)
        ack = ack_button(view, locale=self._locale)
        if ack is not None:
            buttons.append([Button(label=ack["text"], data=ack["callback_data"])])
        return ChatMessage(text=text, buttons=buttons + silence_buttons(view, self._locale)
                           + postmortem_buttons(view, self._locale))

    def escalation(self, view: IncidentView, reason: str, *, may_repeat: bool = False) -> ChatMessage:
        return ChatMessage(text=render_escalation(view, reason, locale=self._locale, may_repeat=may_repeat))

    def renotify(self, view: IncidentView, unacked_seconds: float, *, escalation: bool = False,
                 may_repeat: bool = False) -> ChatMessage:
        return ChatMessage(text=render_renotify(view, unacked_seconds, locale=self._locale, escalation=escalation,
                                                may_repeat=may_repeat))

    def digest_line(self, view: IncidentView, *, max_bytes: int) -> str:
        return render_digest_line(view, locale=self._locale, max_bytes=max_bytes)

    def digest(self, lines: list[str], *, may_repeat: bool = False) -> ChatMessage:
        return ChatMessage(text=render_digest(lines, locale=self._locale, may_repeat=may_repeat))

    def notice(self, title: str, lines: list[str], footer: str = "") -> ChatMessage:
        body = [f"<b>{html.escape(title, quote=False)}</b>", *(html.escape(line, quote=False) for line in lines)]
        if footer:
            body.append(html.escape(footer, quote=False))
        return ChatMessage(text="\n".join(body))

    def _approval(self, repair: RepairState | None) -> list[list[Button]]:
        """Approve/Reject under the card while (and only while) a decision is awaited."""
        keyboard = approval_keyboard(repair, locale=self._locale)
        if keyboard is None:
            return []
        rows = keyboard["inline_keyboard"]
        assert isinstance(rows, list)
        return [[Button(label=button["text"], data=button["callback_data"]) for button in row] for row in rows]
