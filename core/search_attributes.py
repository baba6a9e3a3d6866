"""Search attributes awoooi registers, so operators can find incidents in the Temporal Web UI.

Defined once here; the dev server registers them at start (`--search-attribute`), production
operators with `temporal operator search-attribute create` (see README).
"""

from __future__ import annotations

import json

from temporalio.common import SearchAttributeKey

from core.text import replace_surrogates

ALERT_NAME = SearchAttributeKey.for_keyword("AlertName")
SEVERITY = SearchAttributeKey.for_keyword("Severity")
SERVICE = SearchAttributeKey.for_keyword("Service")
SOURCE = SearchAttributeKey.for_keyword("Source")
INCIDENT_STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
# none / awaiting_approval / running / verifying / done: `RepairPhase="awaiting_approval"` is the approval queue.
REPAIR_PHASE = SearchAttributeKey.for_keyword("RepairPhase")

# "false" while an open incident waits for someone to say "I'm on it", "true" once acked (only in runs
# with AWOOOI_ACKS on): `IncidentStatus="open" AND Acked="false"` lists the unacknowledged ones.
ACKED = SearchAttributeKey.for_keyword("Acked")

# What silences an incident now ("silence:<id>,window:<name>"), absent when nothing does:
# `Silenced IS NOT NULL` lists the silenced ones (core/incident/silencing.py).
SILENCED = SearchAttributeKey.for_keyword("Silenced")

# "true" while an incident is marked flapping, absent otherwise (core/incident/flapping.py, docs/adr/0031):
# `Flapping="true"` lists them.
FLAPPING = SearchAttributeKey.for_keyword("Flapping")

ALL = (ALERT_NAME, SEVERITY, SERVICE, SOURCE, INCIDENT_STATUS, REPAIR_PHASE, ACKED, SILENCED, FLAPPING)

# Temporal refuses a Keyword value whose encoded payload is over 2,048 bytes. The payload is the
# value as JSON: quotes included, and every non-ASCII character escaped (``"\u78c1"``, 6 bytes;
# an emoji 12), so 700 Chinese characters are 4,202 bytes although they are 2,100 in UTF-8.
MAX_KEYWORD_BYTES = 2048


def encoded_size(value: str) -> int:
    """What Temporal counts against the limit: the JSON payload's bytes (ASCII-escaped, the largest
    of the encodings a converter may use)."""
    return len(json.dumps(value))


def cut_to_bytes(value: str, limit: int = MAX_KEYWORD_BYTES) -> str:
    """``value`` cut on a character boundary so its encoded payload fits Temporal's keyword limit.

    A cut by characters (the old ``[:250]``) lets a long non-ASCII name through, Temporal refuses
    the whole start with INVALID_ARGUMENT, and the sender is told 503 and retries forever.
    """
    value = replace_surrogates(value)
    if encoded_size(value) <= limit:
        return value
    size, end = 2, 0  # the two quotes
    for end, char in enumerate(value):
        size += encoded_size(char) - 2
        if size > limit:
            return value[:end]
    return value
