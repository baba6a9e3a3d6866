"""Search attributes awoooi registers, so operators can find incidents in the Temporal Web UI.

Defined once here; the dev server registers them at start (`--search-attribute`), production
operators with `temporal operator search-attribute create` (see README).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

from core.text import cut_utf8

ALERT_NAME = SearchAttributeKey.for_keyword("AlertName")
SEVERITY = SearchAttributeKey.for_keyword("Severity")
SERVICE = SearchAttributeKey.for_keyword("Service")
SOURCE = SearchAttributeKey.for_keyword("Source")
INCIDENT_STATUS = SearchAttributeKey.for_keyword("IncidentStatus")

ALL = (ALERT_NAME, SEVERITY, SERVICE, SOURCE, INCIDENT_STATUS)

# Temporal refuses a Keyword value over 2,048 bytes (the limit is in UTF-8 bytes, not characters).
MAX_KEYWORD_BYTES = 2048


def cut_to_bytes(value: str, limit: int = MAX_KEYWORD_BYTES) -> str:
    """``value`` cut to Temporal's keyword limit in UTF-8 bytes, on a character boundary.

    A 700-character Chinese alert name is 2,100 bytes: a cut by characters lets it through and
    Temporal then refuses the whole start, so the sender would retry forever.
    """
    return cut_utf8(value, limit)
