"""/silence, /silences and /expire in the operators' chat: the same silences amtool manages.

``/silence <matchers> <duration> [comment]``: matchers in Alertmanager's syntax (``alertname=X``,
``{a="b",c=~"d.*"}``, several separated by spaces or commas; the parser is core/silences.py's), then
a duration like amtool's (``1h``, ``90m``, ``1d12h``), then an optional comment. The silence starts
now, is created by the sender, and is checked by Alertmanager's rules before anything is written.
``/silences``: the active and pending ones, soonest end first. ``/expire <id>``: ends it now, and the
workflows it silenced are told (their held cards go out), as ``amtool silence expire`` does.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from core.errors import UpstreamError
from core.ports import SilenceRepository
from core.silence_edits import expire
from core.silences import Silence, SilenceInvalid, SilenceState, format_time, parse_duration, parse_matchers
from starter.chat_commands import ChatCommand, ChatCommands, CommandRefused

MAX_LISTED = 20

SilenceChanged = Callable[[Silence, list[str]], Awaitable[None]]


def split_args(text: str) -> list[str]:
    """Words split at spaces outside double quotes (``alertname="Disk full"`` stays one)."""
    words: list[str] = []
    word, quoted, escaped = "", False, False
    for ch in text:
        if ch.isspace() and not quoted:
            if word:
                words.append(word)
            word = ""
            continue
        if ch == '"' and not escaped:
            quoted = not quoted
        escaped = ch == "\\" and not escaped
        word += ch
    if word:
        words.append(word)
    return words


def parse_silence_command(args: str, who: str, now: datetime) -> Silence:
    """The silence a ``/silence`` asks for; CommandRefused says what is wrong with it."""
    words = split_args(args)
    at = next((i for i, w in enumerate(words) if not any(op in w for op in "=~{") and _is_duration(w)), None)
    if at is None or at == 0:
        raise CommandRefused("say which alerts (matchers) and for how long (a duration like 1h)")
    try:
        matchers = [m for word in words[:at] for m in parse_matchers(word)]
        duration = parse_duration(words[at])
    except SilenceInvalid as exc:
        raise CommandRefused(str(exc)) from exc
    comment = " ".join(words[at + 1:]).strip() or f"silenced from the chat by {who}"
    silence = Silence(id=str(uuid.uuid4()), matchers=matchers, startsAt=now, endsAt=now + duration,
                      createdBy=who, comment=comment[:500], updatedAt=now)
    try:
        silence.check()
    except SilenceInvalid as exc:
        raise CommandRefused(str(exc)) from exc
    return silence


def _is_duration(word: str) -> bool:
    try:
        parse_duration(word)
    except SilenceInvalid:
        return False
    return True


def _describe(silence: Silence, now: datetime) -> str:
    matchers = ",".join(str(m) for m in silence.matchers)
    state = silence.state(now)
    when = f"until {format_time(silence.ends_at)}" if state is SilenceState.ACTIVE else \
        f"from {format_time(silence.starts_at)} to {format_time(silence.ends_at)}"
    return (f"<code>{html.escape(silence.id)}</code> {html.escape(matchers[:300])} · {state.value} {when} · "
            f"{html.escape(silence.created_by[:60])}: {html.escape(silence.comment[:120])}")


class SilenceCommands:
    def __init__(self, store: SilenceRepository, changed: SilenceChanged | None,
                 added: Callable[[Silence], Awaitable[None]] | None = None) -> None:
        self._store = store
        self._changed = changed
        self._added = added

    def register(self, router: ChatCommands) -> None:
        router.register("silence", self.silence, "/silence <matchers> <duration> [comment]")
        router.register("silences", self.silences, "/silences")
        router.register("expire", self.expire, "/expire <silence id>")

    async def silence(self, command: ChatCommand) -> str:
        now = datetime.now(timezone.utc)
        silence = parse_silence_command(command.args, command.who, now)
        try:
            await self._store.edit(silence.id, lambda current: [silence] if current is None else [], now)
        except UpstreamError as exc:
            raise CommandRefused(f"silences unavailable: {exc}") from exc
        if self._added is not None:
            try:
                await self._added(silence)  # the open incidents it names ask again
            except Exception:  # noqa: BLE001 - the silence is saved; telling them is best effort
                pass
        return f"🔕 Silence added: {_describe(silence, now)}"

    async def silences(self, command: ChatCommand) -> str:
        now = datetime.now(timezone.utc)
        try:
            live = await self._store.live(now)
        except UpstreamError as exc:
            raise CommandRefused(f"silences unavailable: {exc}") from exc
        live.sort(key=lambda s: (s.state(now) is not SilenceState.ACTIVE, s.ends_at))
        if not live:
            return "No active or pending silences."
        lines = [_describe(s, now) for s in live[:MAX_LISTED]]
        if len(live) > MAX_LISTED:
            lines.append(f"+{len(live) - MAX_LISTED} more (amtool silence query)")
        return f"🔕 <b>{len(live)} silence(s)</b>\n" + "\n".join(lines)

    async def expire(self, command: ChatCommand) -> str:
        silence_id = command.args.strip()
        if not silence_id or " " in silence_id or len(silence_id) > 100:
            raise CommandRefused("say which silence (its id, from /silences)")
        now = datetime.now(timezone.utc)
        found: list[Silence] = []

        def decide(current: Silence | None) -> list[Silence]:
            found[:] = [] if current is None else [expire(current, now)]
            return [] if current is None or found[0] is current else found

        try:
            await self._store.edit(silence_id, decide, now)
        except UpstreamError as exc:
            raise CommandRefused(f"silences unavailable: {exc}") from exc
        if not found:
            raise CommandRefused(f"no silence {silence_id}")
        await self._tell(found[0], silence_id)
        return f"Silence <code>{html.escape(silence_id)}</code> expired."

    async def _tell(self, silence: Silence, silence_id: str) -> None:
        """The workflows it silenced hear at once (best effort: they also ask again on their own)."""
        if self._changed is None:
            return
        try:
            watchers = await self._store.watchers(silence_id)
            if watchers:
                await self._changed(silence, watchers)
        except Exception:  # noqa: BLE001 - the silence is expired; waking early is best effort
            return


__all__ = ["SilenceCommands", "parse_silence_command", "split_args"]
