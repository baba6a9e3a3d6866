"""Generation 1 incidents still open after an upgrade keep getting their alerts.

Generation 2 names its workflows differently (``incident-{source}-{name}-{service}-{fingerprint}``
instead of ``incident-{source}-{fingerprint}``), so without this an alert whose generation-1 run is
still open would start a second incident and a second card. The API keeps the set of open
generation-1 runs (listed when it starts, then one visibility query every ``refresh`` seconds) and
sends an alert of one of them there, with a plain signal that never starts one; a run that has just
ended answers NOT_FOUND and the alert goes to generation 2. While the set is not known (Temporal's
visibility did not answer at start) alerts go to generation 2.

Once no generation-1 run has been open for ``retire_after`` (longer than an API rollout, when old
replicas may still start them), the process stops looking. The whole module goes with generation 1
(docs/adr/0019-incident-workflow-generations.md).
"""

from __future__ import annotations

import asyncio
import time

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

log = structlog.get_logger(__name__)

LEGACY_TYPE = "IncidentWorkflow"
OPEN_LEGACY_QUERY = f'WorkflowType="{LEGACY_TYPE}" AND ExecutionStatus="Running"'
REFRESH_SECONDS = 30.0
RETIRE_AFTER_SECONDS = 15 * 60.0


class LegacyRuns:
    def __init__(self, client: Client, *, refresh_seconds: float = REFRESH_SECONDS,
                 retire_after_seconds: float = RETIRE_AFTER_SECONDS) -> None:
        self._client = client
        self._refresh = refresh_seconds
        self._retire_after = retire_after_seconds
        self._open: set[str] | None = None  # None: not known yet
        self._fresh_until = 0.0
        self._empty_since: float | None = None
        self._retired = False
        self._listing: asyncio.Task[None] | None = None

    @property
    def retired(self) -> bool:
        return self._retired

    async def start(self, timeout: float) -> None:
        """The first listing, before the API takes alerts (given up after ``timeout``: later ones
        run in the background)."""
        try:
            await asyncio.wait_for(self._list(), timeout)
        except TimeoutError:
            log.warning("open generation-1 incidents not listed yet; alerts go to generation 2 until they are")

    def holds(self, workflow_id: str) -> bool:
        """Whether ``workflow_id`` is an open generation-1 run, as last listed."""
        if self._retired:
            return False
        if time.monotonic() >= self._fresh_until and (self._listing is None or self._listing.done()):
            self._listing = asyncio.ensure_future(self._list())
        return self._open is not None and workflow_id in self._open

    def ended(self, workflow_id: str) -> None:
        """Its run answered NOT_FOUND: it has ended."""
        if self._open is not None:
            self._open.discard(workflow_id)

    async def _list(self) -> None:
        try:
            found = {execution.id async for execution in self._client.list_workflows(OPEN_LEGACY_QUERY)}
        except (RPCError, RuntimeError) as exc:
            log.warning("cannot list open generation-1 incidents; asking each one", error=type(exc).__name__)
            self._fresh_until = time.monotonic() + self._refresh
            return
        now = time.monotonic()
        self._open, self._fresh_until = found, now + self._refresh
        if found:
            self._empty_since = None
            return
        self._empty_since = self._empty_since or now
        if now - self._empty_since >= self._retire_after:
            self._retired = True
            log.info("no generation-1 incident open; alerts go to generation 2 only")
