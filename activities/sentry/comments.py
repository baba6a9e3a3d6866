"""Post the analysis back to the Sentry issue as a comment (seed phase D), exactly once.

The comment text is rendered from workflow state with the workflow's timestamp, so a retry
sends the same text: our ledger catches the normal retry, and Sentry's own "already posted"
answer catches the crash window. Once Sentry took the comment the outcome is returned even if
the ledger write fails: Temporal's history is the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import structlog
from temporalio import activity

from activities.failures import to_application_error
from activities.sentry.render import render_comment
from core.errors import UpstreamError
from core.inputs import SentryCommentInput
from core.metrics import Metrics
from core.ports import IdempotencyLedger, SentryApi

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CommentSettings:
    org: str | None
    locale: str
    tz: ZoneInfo


class SentryActivities:
    def __init__(
        self, api: SentryApi | None, ledger: IdempotencyLedger, settings: CommentSettings, metrics: Metrics
    ) -> None:
        self._api = api
        self._ledger = ledger
        self._settings = settings
        self._metrics = metrics

    @activity.defn(name="post_sentry_comment")
    async def post_comment(self, inp: SentryCommentInput) -> str:
        """Return "posted", "already_posted" or "skipped: <why>"."""
        ref = inp.view.alert.sentry
        bound = log.bind(incident_id=inp.view.incident_id)
        if ref is None or not ref.issue_id:
            return "skipped: no sentry issue"
        if self._api is None:
            bound.info("sentry token not set, comment skipped", issue_id=ref.issue_id)
            self._metrics.sentry_comments.labels(outcome="skipped").inc()
            return "skipped: no sentry token"
        org = self._settings.org or ref.org_slug
        if not org:
            bound.warning("sentry organization unknown, comment skipped", issue_id=ref.issue_id)
            self._metrics.sentry_comments.labels(outcome="skipped").inc()
            return "skipped: no sentry organization"
        try:
            if await self._ledger.comment(inp.comment_key) is not None:
                return "already_posted"
            text = render_comment(inp.view, locale=self._settings.locale, tz=self._settings.tz, at=inp.at)
            outcome = await self._api.post_comment(org, ref.issue_id, text)
        except UpstreamError as exc:
            self._metrics.sentry_comments.labels(outcome="failed").inc()
            raise to_application_error(exc) from exc
        try:
            await self._ledger.keep_comment(inp.comment_key, outcome)
        except UpstreamError as exc:
            # Sentry has the comment: report it. Raising would retry, and a retry after Sentry's
            # one-hour duplicate window would post it twice.
            bound.error("sentry comment posted but not kept in the ledger", issue_id=ref.issue_id, error=str(exc))
        self._metrics.sentry_comments.labels(outcome=outcome).inc()
        bound.info("sentry comment done", issue_id=ref.issue_id, outcome=outcome)
        return outcome
