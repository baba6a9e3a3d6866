"""AlertChainProbe: every link of the alert chain, checked on a schedule (worker/schedule.py).

One activity per link, run side by side, each with its own deadline, so one slow link cannot hide
the state of the others; then one report step (metrics, the outage message). The per-link report
is the workflow's result, visible in the Web UI. A check never retries within a run: the next run
is the retry, and a flapping link should show as flapping.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.probe.activities import ProbeActivities
    from core.probe import CheckInput, LinkResult, ProbeInput, ProbeReport, ReportInput

from workflows import retries

ONCE = RetryPolicy(maximum_attempts=1)
# Room for the check's own deadline plus the activity's dispatch.
SLACK_SECONDS = 15

_CHECKS = (
    ("api", ProbeActivities.api),
    ("alertmanager", ProbeActivities.alertmanager),
    ("sentry", ProbeActivities.sentry),
    ("telegram", ProbeActivities.telegram),
    ("sentry_api", ProbeActivities.sentry_api),
)


@workflow.defn(name="AlertChainProbe")
class AlertChainProbe:
    @workflow.run
    async def run(self, inp: ProbeInput) -> ProbeReport:
        started = workflow.now()
        check = CheckInput(run_id=workflow.uuid4().hex[:12], deadline_seconds=inp.deadline_seconds)
        links = await asyncio.gather(*(self._check(name, method, check) for name, method in _CHECKS))
        report = ProbeReport(links=list(links))
        seconds = (workflow.now() - started).total_seconds()
        try:
            await workflow.execute_activity_method(
                ProbeActivities.report, ReportInput(report=report, seconds=seconds),
                start_to_close_timeout=timedelta(seconds=30), schedule_to_close_timeout=timedelta(minutes=2),
                retry_policy=retries.QUICK,
            )
        except ActivityError as exc:
            workflow.logger.error("probe report failed", extra={"error": str(exc.cause or exc)})
        return report

    async def _check(self, name: str, method, check: CheckInput) -> LinkResult:  # noqa: ANN001
        timeout = timedelta(seconds=check.deadline_seconds + SLACK_SECONDS)
        try:
            return await workflow.execute_activity_method(
                method, check, start_to_close_timeout=timeout, schedule_to_close_timeout=timeout,
                retry_policy=ONCE,
            )
        except ActivityError as exc:
            # No worker took it in time, or the check itself crashed: the link is not known good.
            cause = exc.cause or exc
            return LinkResult(link=name, ok=False, seconds=timeout.total_seconds(),
                              error=f"check did not complete: {type(cause).__name__}")
