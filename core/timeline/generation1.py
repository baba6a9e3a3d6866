"""Generation 1's words (workflow type ``IncidentWorkflow``, frozen in workflows/legacy/).

Generation 2's vocabulary with what generation 1 wrote differently: a single-delivery ``deliver``
signal, the ``post_card`` activity of its first releases, its ``workflow.patched`` markers and the
``TemporalChangeVersion`` search attribute they upsert, and its carried state at the top of its input.
Its activities took the same input shapes (core/legacy_inputs.py differs in integer message ids only,
which a timeline reads as they are).
"""

from __future__ import annotations

from dataclasses import replace

from core.timeline.vocabulary import GENERATION_2, POST_CARD, QUIET, SINGLE

GENERATION_1 = replace(
    GENERATION_2,
    generation=1,
    workflow_type="IncidentWorkflow",
    signals=GENERATION_2.signals | {"deliver": SINGLE},
    # Generation 1 never had an acknowledgement or a silence.
    updates={name: meaning for name, meaning in GENERATION_2.updates.items() if name in ("decide", "own_card")},
    activities=GENERATION_2.activities | {"post_card": POST_CARD},
    markers=GENERATION_2.markers | {"core_patch": QUIET},
    search_attributes=GENERATION_2.search_attributes | {"TemporalChangeVersion": QUIET},
    carried_path=(),
)
