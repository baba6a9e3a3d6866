"""Getting a digest line into the chat: one send per digest message, then coalesced edits.

The activity that stores a line (activities/chat/digest.py) returns only once a send or an edit that
contains its line has gone out: its own, or another worker's whose snapshot was taken after the
line was stored (each slot keeps the highest version a render showed). At most one worker renders
a slot at a time, edits at most every ``edit_interval``; the others ask Valkey again when the next edit
may start (or, while one renders, every ``poll_seconds``), never Telegram.

The first message of a slot goes through the same exactly-once path as a card (``send_once``:
chat gate, in-flight marker, ``MessageKey.digest(chat, slot)``), so a retry or a crash never sends
a second message for the same slot (docs/adr/0011, docs/adr/0016).

Time: an activity starts a send or edit only in its first ``start_within`` seconds (a send may
then wait 10 s for the chat gate and take 10 s), and waits for another worker's render at most
``wait`` seconds; both stay inside place_card's 30 s start-to-close. Past ``wait`` it raises a
retryable error: the line is stored, so the retry just waits for the next render.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog

from activities.chat.digest import Digest
from activities.chat.place import activity_place
from core.chat import ChatMessage, MessageKey
from core.errors import MessageGone, UpstreamError
from core.metrics import Metrics
from core.ports import CardRenderer, ChatChannel, MessageRefs
from core.priority import PROBE, QueuePlace

__all__ = ["DigestShows"]

# (chat, message key, render(may_repeat), logger, place or None) -> (message reference, sent by this call)
SendOnce = Callable[[str, MessageKey, Callable[[bool], ChatMessage], Any, QueuePlace | None],
                    Awaitable[tuple[str, bool]]]
URGENT = QueuePlace(PROBE, "")


class DigestShows:
    def __init__(self, digest: Digest, channel: ChatChannel, render: CardRenderer, refs: MessageRefs,
                 metrics: Metrics, send_once: SendOnce, pace: Callable[..., Awaitable[Any]] | None, *,
                 start_within: timedelta = timedelta(seconds=5), wait: timedelta = timedelta(seconds=12),
                 poll_seconds: float = 0.1) -> None:
        self._digest = digest
        self._channel = channel
        self._renderer = render
        self._refs = refs
        self._metrics = metrics
        self._send_once = send_once
        # The chat gate's pacing hook (``pace(chat_id, urgent=...)``), when it has one.
        self._pace = pace
        self._start_within = start_within.total_seconds()
        self._wait = wait.total_seconds()
        self._poll = poll_seconds

    async def show_line(self, chat_id: str, card_key: str, line: str, bound: structlog.BoundLogger, *,
                        critical: bool = False) -> str:
        """Store the incident's line and return the digest message id once the chat shows it. A
        critical line goes on top of its message, and its send neither fills nor waits its turn
        behind other lines' (docs/adr/0022-first-words-first.md)."""
        change = await self._digest.upsert(chat_id, card_key, line, first=critical)
        if change.change != "unchanged":
            self._metrics.digest_lines.labels(change=change.change).inc()
        bound.info("digest line stored", slot=change.slot, version=change.version, change=change.change)
        return await self._shown(chat_id, change.slot, change.version, bound, urgent=critical)

    async def unlist(self, chat_id: str, card_key: str, bound: structlog.BoundLogger) -> None:
        """The incident has its own card now: take its line out of its digest, and show that.

        Best effort, never raising: the own card has gone out, and the caller must return its id
        (a retry must not look like a failed card). If this edit does not go out now, the digest's
        next edit drops the line."""
        try:
            change = await self._digest.remove(chat_id, card_key)
            if change is None:
                return
            if change.change == "removed":
                self._metrics.digest_lines.labels(change="removed").inc()
            await self._shown(chat_id, change.slot, change.version, bound)
        except UpstreamError as exc:
            bound.warning("own card sent; its digest line shows until the digest's next edit", error=str(exc))

    async def _shown(self, chat_id: str, slot: int, version: int, bound: structlog.BoundLogger, *,
                     urgent: bool = False) -> str:
        loop = asyncio.get_running_loop()
        start = loop.time()
        key = MessageKey.digest(chat_id, slot)
        while True:
            message_id = await self._refs.get(key)
            if message_id is not None and await self._digest.rendered(chat_id, slot) >= version:
                return message_id
            elapsed = loop.time() - start
            if elapsed >= self._wait:
                raise UpstreamError("telegram: digest not shown yet (its edits are coalesced); will retry",
                                    retryable=True)
            pause = self._poll
            if elapsed < self._start_within:
                token, pause = await self._digest.claim(chat_id, slot, first_send=message_id is None, urgent=urgent)
                if token is not None:
                    try:
                        shown_id, shown = await self._render(chat_id, slot, key, message_id, bound, urgent=urgent)
                    finally:
                        await self._digest.release(chat_id, slot, token)
                    if shown >= version:
                        return shown_id
                    continue
            # Until the next edit may start (nothing can show the line before it), else a short poll
            # for another worker's render; jittered so the waiters do not all ask at once.
            await asyncio.sleep(max(pause, self._poll * 0.5) + self._poll * random.random())  # noqa: S311 - jitter

    async def _render(self, chat_id: str, slot: int, key: MessageKey, message_id: str | None,
                      bound: structlog.BoundLogger, *, urgent: bool = False) -> tuple[str, int]:
        """Send (first time) or edit the slot's message with its current lines; return its reference
        and the version it showed (0 when another worker had sent it meanwhile)."""
        snap = await self._digest.snapshot(chat_id, slot)

        def render(may_repeat: bool) -> ChatMessage:
            return self._renderer.digest(snap.lines, may_repeat=may_repeat)

        if message_id is None:
            message_id, sent = await self._send(chat_id, key, render, bound, urgent=urgent)
            if not sent:
                return message_id, 0
            self._metrics.telegram_messages.labels(kind="digest_sent").inc()
            bound.info("digest sent", message_id=message_id, slot=slot, lines=len(snap.lines))
        else:
            if self._pace is not None:
                # One coalesced edit stands for many incidents' lines: it waits for its slot under
                # Telegram's limits (raising retryably past the budget) rather than being skipped.
                await self._pace(chat_id, urgent=True, place=URGENT if urgent else activity_place())
            try:
                await self._channel.edit(chat_id, message_id, render(False))
            except MessageGone:
                message_id = await self._replace(chat_id, slot, message_id, render, bound)
            except UpstreamError:
                self._metrics.telegram_messages.labels(kind="failed").inc()
                raise
            else:
                self._metrics.telegram_messages.labels(kind="digest_edited").inc()
                bound.debug("digest edited", message_id=message_id, slot=slot, lines=len(snap.lines))
        try:
            await self._digest.mark_rendered(chat_id, slot, snap.version)
        except UpstreamError as exc:
            # The message went out: report it. Other lines' activities re-render after the interval.
            bound.error("digest shown but its render not recorded", message_id=message_id, error=str(exc))
        return message_id, snap.version

    async def _send(self, chat_id: str, key: MessageKey, render: Callable[[bool], ChatMessage],
                    bound: structlog.BoundLogger, *, urgent: bool = False) -> tuple[str, bool]:
        try:
            # A message holding a critical line waits for the chat with the probe's key (core/priority.py).
            return await self._send_once(chat_id, key, render, bound, URGENT if urgent else None)
        except UpstreamError:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise

    async def _replace(self, chat_id: str, slot: int, gone: str, render: Callable[[bool], ChatMessage],
                       bound: structlog.BoundLogger) -> str:
        """Someone deleted the digest message: send it again once, and keep the new one as the slot's."""
        message_id, sent = await self._send(chat_id, MessageKey.digest_replacement(chat_id, slot, gone), render, bound)
        await self._refs.put(MessageKey.digest(chat_id, slot), message_id)
        if sent:
            self._metrics.telegram_messages.labels(kind="digest_sent").inc()
            bound.warning("digest was deleted in the chat; sent a replacement", message_id=message_id, old=gone)
        return message_id
