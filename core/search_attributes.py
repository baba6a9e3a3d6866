"""Search attributes awoooi registers, so operators can find incidents in the Temporal Web UI.

Defined once here; the dev server registers them at start (`--search-attribute`), production
operators with `temporal operator search-attribute create` (see README).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ALERT_NAME = SearchAttributeKey.for_keyword("AlertName")
SEVERITY = SearchAttributeKey.for_keyword("Severity")
SERVICE = SearchAttributeKey.for_keyword("Service")
SOURCE = SearchAttributeKey.for_keyword("Source")
INCIDENT_STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
# none / awaiting_approval / running / verifying / done: `RepairPhase="awaiting_approval"` is the approval queue.
REPAIR_PHASE = SearchAttributeKey.for_keyword("RepairPhase")

ALL = (ALERT_NAME, SEVERITY, SERVICE, SOURCE, INCIDENT_STATUS, REPAIR_PHASE)
