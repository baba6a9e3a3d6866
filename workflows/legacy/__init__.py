"""Generation 1 of the incident workflow (type ``IncidentWorkflow``), frozen.

New incidents run generation 2 (``Incident``, workflows/incident.py). This package is kept, behaviour
untouched, for two reasons only: runs of it that were open when awoooi was upgraded finish here, and
every history it recorded (tests/histories/incident_v*.json, probe_v3_probe.json) keeps replaying
against it. Its nine patches (``repairs-v1`` ... ``card-budget-v1``) stay because those histories
take them. Its activities are called by name, so moving or renaming activity classes cannot change it.

Retirement (docs/adr/0019-incident-workflow-generations.md): once ``awoooi generations`` reports no
open run of ``IncidentWorkflow`` for longer than the longest incident can live, one commit deletes this
package, core/legacy_inputs.py and the generation-1 card activities, and moves its histories to
tests/histories/retired/.
"""
