"""The "📝 Postmortem" button under a resolved card (docs/adr/0026, "The Postmortem button").

Render only: the card activity draws it from the view it already gets, so showing it changes no
workflow command. Its token names the incident and the moment it resolved (core/postmortem_button.py);
the card activity registers it before the card is sent or edited. A probe's card gets none (its
workflow is not an incident's, so there is no history to draft from).
"""

from __future__ import annotations

from activities.words import labels
from core.chat import Button
from core.models import IncidentView
from core.postmortem_button import postmortem_data, postmortem_token, wants_postmortem_button

__all__ = ["postmortem_buttons"]


def postmortem_buttons(view: IncidentView, locale: str) -> list[list[Button]]:
    if not wants_postmortem_button(view):
        return []
    data = postmortem_data(postmortem_token(view.incident_id, view.resolved_at))
    return [[Button(label=labels(locale)["postmortem"], data=data)]]
