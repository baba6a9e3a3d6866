"""Every Valkey key awoooi writes, built here and nowhere else, so an operator can find them with SCAN.

The idempotency ledger's and the message references' keys keep the names they had when one
"delivery ledger" held them all (``awoooi:ledger:...``): an upgrade must still find what was written
before it (a delivery already handled, a card already sent).
"""

from __future__ import annotations

from core.chat import MessageKey

PREFIX = "awoooi"


def anomaly_hash(anomaly_key: str) -> str:
    return f"{PREFIX}:anomaly:{anomaly_key}"


def anomaly_occurrences(anomaly_key: str) -> str:
    return f"{PREFIX}:anomaly:{anomaly_key}:occurrences"


# -- the idempotency ledger (activities/valkey/ledger.py) -------------------------------------------


def delivery_handled(delivery_id: str) -> str:
    """Set by the worker's save once a delivery is handled; read by the webhook to answer "duplicate"."""
    return f"{PREFIX}:ledger:delivery:{delivery_id}"


def repair_result(repair_id: str) -> str:
    """The RepairResult of a repair that ran: its retry returns it instead of running it again."""
    return f"{PREFIX}:ledger:repair:{repair_id}"


def scale_pin(repair_id: str) -> str:
    """The replica count a scale repair chose, pinned before it patches (activities/repair/kubernetes.py)."""
    return f"{PREFIX}:ledger:scale-target:{repair_id}"


def comment(comment_key: str) -> str:
    """How a Sentry comment ended (posted / already_posted)."""
    return f"{PREFIX}:ledger:comment:{comment_key}"


def approval(token: str) -> str:
    """An Approve/Reject button's token -> the workflow it decides for (callback data holds 64 bytes)."""
    return f"{PREFIX}:ledger:approval:{token}"


def occurrence_logged(record_id: str) -> str:
    """An occurrence appended to the learning log once (activities/valkey/incidents.py)."""
    return f"{PREFIX}:ledger:learning:{record_id}"


def chat_update(update_id: str) -> str:
    """A chat update (a button tap) taken once; Telegram re-sends one until it gets a 2xx."""
    return f"{PREFIX}:ledger:telegram-update:{update_id}"


def metric_observed(once_key: str) -> str:
    """An incident metric (MTTA, MTTR, a repair outcome) observed once (activities/incident/observe.py)."""
    return f"{PREFIX}:ledger:observed:{once_key}"


# -- where awoooi's messages are (activities/valkey/messages.py) -----------------------------------


def message_ref(key: MessageKey) -> str:
    """The chat's reference of a message sent once (a card, a digest, an escalation)."""
    return f"{PREFIX}:ledger:{key.name}"


def incident(incident_id: str) -> str:
    return f"{PREFIX}:incident:{incident_id}"


def learning_occurrences(anomaly_key: str) -> str:
    return f"{PREFIX}:learning:occurrences:{anomaly_key}"


def learning_repair(anomaly_key: str, action: str) -> str:
    """The repair records of one action on one anomaly key, newest first.

    Deliberately WITHOUT the awoooi prefix: this is the seed's key, kept as it was so the records
    the seed wrote stay readable by the learning service.
    """
    return f"learning:repair:{anomaly_key}:{action}"


def learning_recorded(repair_id: str) -> str:
    """Marker that a repair result has been recorded, so a retried activity records it once."""
    return f"{PREFIX}:learning:recorded:{repair_id}"


def learning_streaks(action: str) -> str:
    """Hash ``anomaly_key -> consecutive failures`` of one action: its fields are exactly the keys
    with a nonzero streak, so a success of the action anywhere clears them all with one DEL."""
    return f"{PREFIX}:learning:streaks:{action}"


def learning_playbooks() -> str:
    """Hash ``anomaly_key -> Playbook JSON``: one playbook per anomaly key, listed with HVALS."""
    return f"{PREFIX}:learning:playbooks"


def repair_budget(anomaly_key: str) -> str:
    return f"{PREFIX}:repair:budget:{anomaly_key}"


def spool() -> str:
    """Stream of deliveries waiting for Temporal (starter/intake.py), oldest first."""
    return f"{PREFIX}:spool"


def spool_lease() -> str:
    """Which API replica drains the spool now (value: its owner id, with a TTL)."""
    return f"{PREFIX}:spool:lease"


def chat_sender(chat_id: str) -> str:
    """The per-chat sender lock (activities/chat/gate.py): at most one card in flight per chat."""
    return f"{PREFIX}:chat:{chat_id}:sender"


def chat_queue(chat_id: str) -> str:
    """Sends waiting for the chat's lock, by priority and arrival (activities/chat/gate.py)."""
    return f"{PREFIX}:chat:{chat_id}:queue"


def chat_waiting(chat_id: str) -> str:
    """When each waiting send last asked: one not seen for a while is dropped from the queue."""
    return f"{PREFIX}:chat:{chat_id}:waiting"


def chat_turns(chat_id: str) -> str:
    """Turns each sender group had in the chat, for round-robin among groups."""
    return f"{PREFIX}:chat:{chat_id}:turns"


def postmortem_sent(token: str) -> str:
    """A resolved card's Postmortem document: "sending" while one is going out, then "sent:<message id>"
    (activities/valkey/postmortems.py)."""
    return f"{PREFIX}:ledger:postmortem:{token}"


def postmortem_attempted(token: str) -> str:
    """Set when a Postmortem document send begins and kept: a later attempt that finds it without a
    "sent" mark knows an earlier one may have reached the chat."""
    return f"{PREFIX}:ledger:postmortem-attempt:{token}"


def send_in_flight(send_key: str) -> str:
    """Written right before a sendMessage and kept until its message id is in the ledger: a retry
    that finds it knows the previous attempt may have reached Telegram (docs/adr/0011)."""
    return f"{PREFIX}:inflight:{send_key}"


def probe_outage() -> str:
    """Hash of the alert chain's current outage (since, links, announced): absent while all is well,
    so the direct message goes out once per outage and the recovery message once after it."""
    return f"{PREFIX}:probe:outage"


def telegram_next(chat_id: str) -> str:
    """When the next Telegram call to this chat may go (ms, Valkey time): spacing and 429 holds."""
    return f"{PREFIX}:tg:{chat_id}:next"


def telegram_window(chat_id: str) -> str:
    """The calls to this group chat in the last minute (ZSET scored by ms)."""
    return f"{PREFIX}:tg:{chat_id}:window"


def telegram_waiting(chat_id: str) -> str:
    """Calls waiting for one of the chat's slots, with their priority keys (activities/chat/pacing.py)."""
    return f"{PREFIX}:tg:{chat_id}:waiting"


def telegram_global() -> str:
    """Every Telegram call in the last second, all chats (ZSET scored by ms)."""
    return f"{PREFIX}:tg:global"
# -- storm digest (activities/chat/digest.py, docs/adr/0016-digest-cards.md) -------------------------------


def digest_placements(chat_id: str) -> str:
    """ZSET ``card_key -> ms`` (Valkey TIME) of the new incidents placed in the chat within the storm
    window (first placements only): its size says whether the chat is in a storm."""
    return f"{PREFIX}:digest:{chat_id}:placed"


def digest_granted(chat_id: str) -> str:
    """ZSET ``card_key -> ms`` of the own cards the digest granted in the chat within the storm
    window: re-asks after a storm get their cards out of what is left of the threshold."""
    return f"{PREFIX}:digest:{chat_id}:granted"


def digest_critical(chat_id: str) -> str:
    """Critical new incidents placed in the chat's storm window (ZSET card key -> ms)."""
    return f"{PREFIX}:digest:{chat_id}:critical"


def digest_own(card_key: str) -> str:
    """Set once an incident was given its own card: every later placement keeps it there."""
    return f"{PREFIX}:digest:own:{card_key}"


def digest_seq(chat_id: str) -> str:
    """The chat's digest slot counter. Never expires: a slot number must never be reused, since
    its ledger entry (the digest's message id) outlives the digest's own keys."""
    return f"{PREFIX}:digest:{chat_id}:seq"


def digest_current(chat_id: str) -> str:
    """The slot new digest lines of the chat go into."""
    return f"{PREFIX}:digest:{chat_id}:current"


def digest_where(chat_id: str) -> str:
    """HASH ``card_key -> slot``: the one digest message that holds each incident's line."""
    return f"{PREFIX}:digest:{chat_id}:where"


def digest_slot(chat_id: str, slot: int | str) -> str:
    """HASH of one digest message: version, rendered (the version a send/edit showed), bytes,
    added_ms, edited_ms."""
    return f"{PREFIX}:digest:{chat_id}:{slot}"


def digest_lines(chat_id: str, slot: int | str) -> str:
    """HASH ``card_key -> line`` of one digest message."""
    return f"{PREFIX}:digest:{chat_id}:{slot}:lines"


def digest_order(chat_id: str, slot: int | str) -> str:
    """ZSET ``card_key -> n``: the order lines were added in (the order they are shown)."""
    return f"{PREFIX}:digest:{chat_id}:{slot}:order"


def digest_editing(chat_id: str, slot: int | str) -> str:
    """Short-TTL lock of the one worker editing a digest message now (edits are coalesced)."""
    return f"{PREFIX}:digest:{chat_id}:{slot}:editing"


# -- silences (activities/valkey/silences.py, docs/adr/0024-where-silences-live.md) -----------------


def silences() -> str:
    """HASH ``silence id -> Silence JSON`` (Alertmanager's shape): every silence, expired ones for
    five days after their end, as Alertmanager keeps them."""
    return f"{PREFIX}:silences"


def silence_ends() -> str:
    """ZSET ``silence id -> endsAt (ms)``: the silences still live are those scored after now."""
    return f"{PREFIX}:silences:ends"


def silences_version() -> str:
    """Incremented with every write to the silences: a process's copy of them is current while it
    reads the same number (one GET instead of every silence per verdict)."""
    return f"{PREFIX}:silences:version"


def silence_watchers(silence_id: str) -> str:
    """SET of the workflow ids a silence silenced: expiring or editing it wakes them."""
    return f"{PREFIX}:silence:{silence_id}:workflows"


def silence_button(token: str) -> str:
    """STRING ``workflow id``: the incident a card's Silence buttons (callback data ``awoooi:s:...:token``)
    silence; registered by the verdict asked before the card, kept 30 days."""
    return f"{PREFIX}:silence:button:{token}"
