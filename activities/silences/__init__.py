"""Silences and maintenance windows: the maintenance settings file and the activities the incident
workflow asks (docs/adr/0024-where-silences-live.md)."""
