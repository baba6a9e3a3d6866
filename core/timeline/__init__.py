"""Timelines read from incident histories (issue 21): the decoder and its models.

``decode(incident_id, runs)`` turns the history events of every run of an incident's workflow
(each generation in its own vocabulary) into :class:`Timeline` entries. Pure: fetching the runs is
the reader's job (starter/timeline_reader.py).
"""

from core.timeline.decoder import VOCABULARIES, RunHistory, decode
from core.timeline.model import RunInfo, Timeline, TimelineEntry

__all__ = ["VOCABULARIES", "RunHistory", "RunInfo", "Timeline", "TimelineEntry", "decode"]
