"""Generation 1's patch ids and the names of the activities it calls, frozen.

The activities are named here rather than imported: generation 1 must keep calling exactly these
names with exactly these payloads, whatever the activity classes become.
"""

from __future__ import annotations


# How many recent delivery ids the workflow remembers to drop a sender's retry.
SEEN_WINDOW = 200
# Repairs, approvals and the LLM's heartbeating analysis (issue 3) came after release 1.
REPAIRS_PATCH = "repairs-v1"
# A re-sent firing (same fingerprint and startsAt: an Alertmanager retry or repeat_interval) is news
# of the same occurrence: it updates last_seen, it is not counted again and it edits no card (issue 11).
OCCURRENCE_PATCH = "occurrence-dedup-v1"
# The RepairPhase search attribute, so `RepairPhase="awaiting_approval"` lists the approval queue (issue 9).
CONSOLE_PATCH = "console-v1"
# Alert-chain probe alerts (issue 7): no learning, no repair, no Sentry comment, card only to the
# probe chat, closed without the resolve grace (docs/adr/0009-alert-chain-probe.md).
PROBE_PATCH = "probe-alerts-v1"
# Storms (issue 8): deliveries arrive in batches (``deliver_batch``) and the whole inbox is drained at
# once: N repeats are one save (INCRBY N), one learning record and at most one card edit; count-only
# edits wait for AWOOOI_CARD_EDIT_INTERVAL; the quick Valkey steps and the rule analysis run as local
# activities (docs/adr/0003-local-activities.md, docs/adr/0015-group-commit-intake.md).
STORM_PATCH = "storm-v1"
# Storms of distinct alerts (issue 8): cards go through place_card, which, while more than
# AWOOOI_DIGEST_THRESHOLD new incidents reach a chat within a minute, shows the incident as a line
# of the chat's digest message. An open digested incident asks for its own card again after a digest
# window (then doubling waits), and the ``own_card`` update gets it one at once (docs/adr/0016).
DIGEST_PATCH = "digest-v1"
# A query waiting when a workflow task is handed out makes the SDK end that task once its local
# activities are done: their markers land in it, and what the workflow did next in the task after.
# Replay runs that code in the first task, before core announces the second task's patches, so a
# patch first asked right after a local activity read False and the replay failed (TMPRL1100).
# Under this patch every later patch is asked at the start of the run, before any local activity
# (docs/adr/0017-patches-before-local-activities.md).
PATCHES_FIRST_PATCH = "patches-first-v1"
# Asked at the start of the run under patches-first-v1. repairs-v1 and probe-alerts-v1 are first
# asked in ``_open``, before the run's first local activity, so they stay where they are.
LATER_PATCHES = (OCCURRENCE_PATCH, CONSOLE_PATCH)
# The repair plan (``recommend_repair``: a learning read and an idempotent ledger write in Valkey)
# runs as a local activity when the input asks for local steps: one workflow task fewer before a new
# incident's first card (docs/adr/0003-local-activities.md, measured in BENCHMARKS.md).
PLAN_LOCAL_PATCH = "plan-local-v1"
# A count-only change waits until the incident's card made fewer than AWOOOI_CARD_BUDGET_CALLS (2)
# first-show and count calls within AWOOOI_CARD_BUDGET_WINDOW (60 s): a storm that goes on for minutes
# edits each card twice a minute, not once per AWOOOI_CARD_EDIT_INTERVAL. State changes still go at
# once and do not spend the budget (issue 8).
CARD_BUDGET_PATCH = "card-budget-v1"


ANALYZE = "analyze_alert"
SAVE = "save_incident"
SAVE_BATCH = "save_incident_batch"
DELIVERY_SEEN = "delivery_seen"
RECORD = "record_for_learning"
POST_CARD = "post_card"
PLACE_CARD = "place_card"
EDIT_CARD = "edit_card"
ESCALATE = "escalate"
POST_COMMENT = "post_sentry_comment"
RECOMMEND = "recommend_repair"
BUDGET = "repair_budget"
EXECUTE = "execute_repair"
RECORD_REPAIR = "record_repair_result"
