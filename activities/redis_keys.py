"""Every Redis key awoooi writes, in one place, so an operator can find them with SCAN."""

from __future__ import annotations

PREFIX = "awoooi"


def anomaly_hash(anomaly_key: str) -> str:
    return f"{PREFIX}:anomaly:{anomaly_key}"


def anomaly_occurrences(anomaly_key: str) -> str:
    return f"{PREFIX}:anomaly:{anomaly_key}:occurrences"


def ledger(key: str) -> str:
    return f"{PREFIX}:ledger:{key}"


def incident(incident_id: str) -> str:
    return f"{PREFIX}:incident:{incident_id}"


def learning_occurrences(anomaly_key: str) -> str:
    return f"{PREFIX}:learning:occurrences:{anomaly_key}"
