"""The worker's incident settings, handed to each incident run as a local activity's result.

A setting lives in the process that acts on it: the worker reads these from its own environment
(worker/incident_settings.py), and every run of generation 2 asks for them at its start, so the
values it decided with are recorded in its history and a replay decides the same.
"""

from __future__ import annotations

from temporalio import activity

from core.incident.state import IncidentSettings


class IncidentSettingsActivities:
    def __init__(self, settings: IncidentSettings) -> None:
        self._settings = settings

    @activity.defn(name="incident_settings")
    async def incident_settings(self) -> IncidentSettings:
        return self._settings
