"""Generation 2's words (workflow type ``Incident``): which names in a history mean what.

A vocabulary maps every signal, update, activity, marker and search attribute a generation writes
to the meaning the decoder knows (core/timeline/decoder.py), so the decoder's logic is written once
and each generation only says how it names things. A name missing here is decoded as an
``unknown`` entry, never an error. Another generation's vocabulary is this one with its own
differences (core/timeline/generation1.py); a generation 3 adds a module the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Meanings the decoder acts on.
QUIET = "quiet"  # known, and nothing a person needs on the timeline (settings, saves, learning records)
BATCH = "batch"  # a DeliveryBatch signal
SINGLE = "single"  # one AlertDelivery per signal
DECIDE = "decide"
OWN_CARD = "own_card"
ACK = "ack"
SILENCE = "silence"
PLACE_CARD = "place_card"
EDIT_CARD = "edit_card"
POST_CARD = "post_card"
ESCALATE = "escalate"
RENOTIFY = "renotify"
COMMENT = "comment"
EXECUTE = "execute"
LEARN = "learn"
ANALYSE = "analyse"
RECOMMEND = "recommend"
LOCAL_ACTIVITY = "local_activity"
STATUS = "status"


@dataclass(frozen=True)
class Vocabulary:
    generation: int
    workflow_type: str
    signals: dict[str, str]
    updates: dict[str, str]
    activities: dict[str, str]
    markers: dict[str, str]
    search_attributes: dict[str, str]
    # Where the workflow's input carries a continued run's state and pending deliveries.
    carried_path: tuple[str, ...] = field(default=("carried",))

    def carried(self, start_input: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """(state, pending deliveries) handed over by continue-as-new; (None, []) for a fresh run."""
        holder = start_input
        for key in self.carried_path:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if not isinstance(holder, dict):
            return None, []
        state = holder.get("state")
        pending = holder.get("pending") or []
        return (state if isinstance(state, dict) else None), [p for p in pending if isinstance(p, dict)]


GENERATION_2 = Vocabulary(
    generation=2,
    workflow_type="Incident",
    # silence_changed: "ask the silence verdict again" from the API (docs/adr/0029), bookkeeping here.
    signals={"deliver_batch": BATCH, "silence_changed": QUIET},
    updates={
        "decide": DECIDE,
        "own_card": OWN_CARD,
        # RESERVED for the acknowledgement the lead adds to the workflow (issue 21): an update named
        # `ack` whose input carries `by`, `via`, `at` (and perhaps `note`) like a Decision. Decoded as
        # an "acked" entry, which the report's MTTA reads. Nothing writes it yet.
        "ack": ACK,
        # A card's Silence button (docs/adr/0029, core/silence_inputs.py SilenceRequest): `by`, `via`,
        # `duration` (None: until resolved).
        "silence": SILENCE,
    },
    activities={
        "incident_settings": QUIET,
        "delivery_seen": QUIET,
        "save_incident": QUIET,
        "save_incident_batch": QUIET,
        "record_for_learning": QUIET,
        "repair_budget": QUIET,
        "analyze_alert": ANALYSE,
        "recommend_repair": RECOMMEND,
        "place_card": PLACE_CARD,
        "edit_card": EDIT_CARD,
        "escalate": ESCALATE,
        "post_sentry_comment": COMMENT,
        "execute_repair": EXECUTE,
        "record_repair_result": LEARN,
        # docs/adr/0025: a re-notification of an unacknowledged incident, or its escalation.
        "renotify": RENOTIFY,
        "observe_incident": QUIET,
        # Silenced incidents (docs/adr/0029): the verdict and a button's silence are bookkeeping here;
        # the button itself is the `silence` update above, a person's act.
        "silence_verdict": QUIET,
        "silence_create": QUIET,
        "silence_expire": QUIET,
    },
    markers={"core_local_activity": LOCAL_ACTIVITY},
    # `Silenced` is quiet: a silence added beforehand (amtool, a window) is no one's answer to this incident.
    search_attributes={"IncidentStatus": STATUS, "RepairPhase": QUIET, "Acked": QUIET, "Silenced": QUIET,
                       "Flapping": QUIET},
)
