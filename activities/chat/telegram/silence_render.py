"""What a silenced incident's card shows, and the Silence buttons under an open card.

The line: "🔕 Silenced by @alice until 2026-12-06 15:00 UTC" (or "until it resolves" for a mute);
the buttons: Silence 1h, Silence 4h, Mute until resolved, whose callback data names the incident by
the token its verdict registered (core/silence_buttons.py). A probe card, a closed card and a card
whose run has silences off (no token) get no buttons.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from activities.words import format_time, labels
from core.chat import Button
from core.models import IncidentStatus, IncidentView
from core.silence_buttons import KINDS, silence_data

__all__ = ["silence_buttons", "silenced_line"]


def silenced_line(view: IncidentView, text: dict[str, str], tz: ZoneInfo) -> str | None:
    """``text``: the card's label table (activities/words.py)."""
    if not view.silenced:
        return None
    parts = [text["silenced"]]
    if view.silenced_by:
        parts.append(text["silenced_by"].format(who=view.silenced_by[:100]))
    if view.silenced_until_resolved:
        parts.append(text["until_resolved"])
    elif view.silenced_until is not None:
        parts.append(text["until"].format(time=format_time(view.silenced_until, tz)))
    else:
        parts.append(text["until_further"])
    return f"🔕 <b>{html.escape(parts[0], quote=False)}</b> {html.escape(' '.join(parts[1:]), quote=False)}"


def silence_buttons(view: IncidentView, locale: str) -> list[list[Button]]:
    if not view.silence_token or view.status is not IncidentStatus.OPEN:
        return []
    text = labels(locale)
    return [[Button(label=text[f"silence_{kind}"], data=silence_data(kind, view.silence_token)) for kind in KINDS]]
