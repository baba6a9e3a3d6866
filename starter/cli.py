"""The `awoooi` command: dev, worker, api, analyze, approve, reject, ack, card, learning, playbooks,
silences, telegram-webhook, probe, schedule, generations, timeline, postmortem, report."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from core.errors import AwoooiError
from core.logging import configure_logging, forward_sdk_core_logs
from core.settings import Settings

if TYPE_CHECKING:  # imported where used: `awoooi analyze` and --help start without the SDK
    from temporalio.client import Client


DEV_HELP = """\
Start the whole product on one machine: the Temporal dev server (with its Web UI), Valkey (AOF on),
the worker and the webhook API, with data under AWOOOI_DATA_DIR. Says "up" once every part answers;
Ctrl-C stops the API, the worker, then the servers.

Settings: AWOOOI_DATA_DIR (.awoooi), AWOOOI_API_PORT (8000), AWOOOI_DEV_TEMPORAL_PORT (7233),
AWOOOI_DEV_TEMPORAL_UI_PORT (8233), AWOOOI_DEV_VALKEY_PORT (6379); AWOOOI_TEMPORAL_ADDRESS or
AWOOOI_REDIS_URL use an existing server instead; AWOOOI_TELEGRAM_BOT_TOKEN and
AWOOOI_TELEGRAM_CHAT_ID for cards."""

WORKER_HELP = """\
Run the Temporal worker: the incident workflows and their activities (analysis, incident records,
Telegram cards, Sentry comments, repairs, learning). SIGTERM drains in-flight activities. If Temporal
or Valkey is not reachable yet, it says so in one line and retries with backoff.

Settings: AWOOOI_TEMPORAL_ADDRESS, AWOOOI_TEMPORAL_NAMESPACE, AWOOOI_TASK_QUEUE, AWOOOI_REDIS_URL,
AWOOOI_WORKER_METRICS_PORT (9464, /metrics), AWOOOI_TELEGRAM_*, AWOOOI_SENTRY_*, AWOOOI_LLM_*,
AWOOOI_REPAIR_*."""

API_HELP = """\
Serve the webhook API: /api/v1/webhooks/{alertmanager,signoz,sentry}, approvals, learning, health
and /metrics. Deliveries Temporal cannot take in time wait in a durable Valkey spool.

Settings: AWOOOI_TEMPORAL_ADDRESS, AWOOOI_REDIS_URL, AWOOOI_API_HOST, AWOOOI_API_PORT,
AWOOOI_WEBHOOK_TOKEN, AWOOOI_SENTRY_CLIENT_SECRET, AWOOOI_API_TOKEN, AWOOOI_TELEGRAM_WEBHOOK_SECRET,
AWOOOI_INTAKE_DIRECT_TIMEOUT_SECONDS."""

INCIDENTS_HELP = """\
List incidents: id, alert, severity, service, status, occurrences, age and repair phase, from
Temporal's visibility (the Web UI's own search attributes) and the incident records in Valkey.
--status awaiting-approval is the approval queue.

Settings: AWOOOI_TEMPORAL_ADDRESS and AWOOOI_REDIS_URL (default: the servers `awoooi dev` embeds)."""

CARD_HELP = """\
Give an incident its own Telegram card now. In a storm of distinct alerts (more than
AWOOOI_DIGEST_THRESHOLD new incidents in a chat within AWOOOI_DIGEST_WINDOW_SECONDS) incidents are
lines of one digest message; the digest names this command. Asking again answers with the same card.

Settings: AWOOOI_TEMPORAL_ADDRESS (default: the server `awoooi dev` embeds), AWOOOI_TEMPORAL_NAMESPACE,
AWOOOI_TEMPORAL_RPC_TIMEOUT_SECONDS."""

SILENCES_HELP = """\
List silences (added with amtool against /api/v2/silences, or from a card's Silence buttons): id,
state, matchers, start, end, author and comment; expired ones with --all (kept five days). With
AWOOOI_MAINTENANCE_FILE, also each maintenance window and whether it holds now.

Settings: AWOOOI_REDIS_URL (default: the Valkey `awoooi dev` embeds), AWOOOI_MAINTENANCE_FILE."""

TIMELINE_HELP = """\
Read an incident back from Temporal: the history of every run of its workflow (each lifecycle,
each continue-as-new, generation 1's run of the same fingerprint), one entry per meaningful event
with its time (UTC and AWOOOI_TIMEZONE), actor and detail. `postmortem` writes a Markdown draft in
the card's language (AWOOOI_LOCALE). Closed runs last as long as the namespace's retention.

Settings: AWOOOI_TEMPORAL_ADDRESS (default: the server `awoooi dev` embeds), AWOOOI_TEMPORAL_NAMESPACE,
AWOOOI_TIMEZONE, AWOOOI_LOCALE."""

REPORT_HELP = """\
What the incidents of a period say: per service MTTA (once acknowledgements are recorded) and MTTR
(p50, p90), the noisiest and the flapping alerts, and each repair action's success rate with a 95 %
Wilson interval against incidents of the same anomaly that resolved without a repair. Read from
Temporal's visibility and histories. --html writes one self-contained page (inline SVG, no script).

Settings: AWOOOI_TEMPORAL_ADDRESS, AWOOOI_TEMPORAL_NAMESPACE, AWOOOI_TIMEZONE."""

ANALYZE_HELP = """\
Analyze alerts read on stdin, without Temporal: a whole webhook payload (Alertmanager, SigNoz,
Sentry), a bare Alertmanager alert object, an Alertmanager API v2 /api/v2/alerts array, or JSON
Lines of any of these. Prints one JSON analysis per alert, labelled with the source its webhook
would use."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("awoooi")
    except PackageNotFoundError:
        return "unknown"


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        # Field and problem only: pydantic's own text repeats the input, which may be a secret.
        problems = "\n".join(
            f"  AWOOOI_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        print(f"awoooi: invalid settings:\n{problems}", file=sys.stderr)
        raise SystemExit(2) from exc


def _require(settings: Settings, *names: str) -> None:
    missing = [f"AWOOOI_{n.upper()}" for n in names if not getattr(settings, n)]
    if missing:
        print(f"awoooi: set {', '.join(missing)} (only `awoooi dev` starts embedded servers)", file=sys.stderr)
        raise SystemExit(2)


async def _until_signalled(settings: Settings, *, worker: bool) -> None:
    """`awoooi worker` or `awoooi api`, each its own process's composition root."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if worker:
        from worker.service import run_worker

        await run_worker(settings, stop=stop)
    else:
        from starter.service import run_api

        await run_api(settings, stop=stop)


async def _temporal_or_say(settings: Settings) -> Client | None:
    """Temporal for an operator's command (the dev server by default); None once it said why not."""
    from starter.ops_cli import with_dev_defaults
    from activities.connections import connect_temporal

    try:
        return await connect_temporal(with_dev_defaults(settings))
    except RuntimeError as exc:  # the SDK's "Failed client connect"
        print(f"awoooi: cannot reach Temporal at {with_dev_defaults(settings).temporal_address}: {exc}",
              file=sys.stderr)
        return None


async def _decide(settings: Settings, args: argparse.Namespace) -> int:
    from starter.ops_cli import decide

    client = await _temporal_or_say(settings)
    if client is None:
        return 1
    return await decide(client, settings, args.incident_id, approve=args.command == "approve", by=args.by,
                        note=args.note, out=sys.stdout, err=sys.stderr)


async def _ack(settings: Settings, args: argparse.Namespace) -> int:
    from starter.ops_cli import ack

    client = await _temporal_or_say(settings)
    if client is None:
        return 1
    return await ack(client, settings, args.incident_id, by=args.by, note=args.note, out=sys.stdout, err=sys.stderr)


async def _own_card(settings: Settings, args: argparse.Namespace) -> int:
    from starter.ops_cli import own_card

    client = await _temporal_or_say(settings)
    if client is None:
        return 1
    return await own_card(client, settings, args.incident_id, out=sys.stdout, err=sys.stderr)


async def _learning(settings: Settings, args: argparse.Namespace) -> int:
    from starter.ops_cli import learning_text, with_dev_defaults
    from activities.connections import connect_redis
    from activities.valkey.learning import learning_service

    redis = connect_redis(with_dev_defaults(settings))
    try:
        what = "playbooks" if args.command == "playbooks" else args.view
        print(await learning_text(learning_service(redis), what, getattr(args, "anomaly_key", None), args.json))
    except AwoooiError as exc:
        print(f"awoooi: {exc}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
    return 0


async def _incidents(settings: Settings, args: argparse.Namespace) -> int:
    from activities.valkey.incidents import RedisIncidentRepository
    from starter.incidents_cli import list_incidents, print_incidents
    from starter.ops_cli import with_dev_defaults
    from activities.connections import connect_redis, connect_temporal

    settings = with_dev_defaults(settings)
    try:
        client = await connect_temporal(settings)
    except RuntimeError:
        print(f"awoooi: cannot reach Temporal at {settings.temporal_address}; check AWOOOI_TEMPORAL_ADDRESS "
              "and that the server is up", file=sys.stderr)
        return 1
    redis = connect_redis(settings)
    try:
        rows = await list_incidents(client, RedisIncidentRepository(redis), status=args.status,
                                    include_closed=args.all, unacked=args.unacked)
    finally:
        await redis.aclose()
    print_incidents(rows, as_json=args.json, out=sys.stdout)
    return 0


async def _silences(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from activities.connections import connect_redis
    from activities.silences.maintenance_file import MaintenanceFile
    from activities.valkey.silences import RedisSilenceStore
    from starter.ops_cli import with_dev_defaults
    from starter.silences_cli import print_silences, silence_rows, window_rows

    settings = with_dev_defaults(settings)
    now = datetime.now(timezone.utc)
    try:
        source = MaintenanceFile(settings.maintenance_file)
    except AwoooiError as exc:
        print(f"awoooi: AWOOOI_MAINTENANCE_FILE: {exc}", file=sys.stderr)
        return 2
    redis = connect_redis(settings)
    try:
        silences = await RedisSilenceStore(redis).all()
    except AwoooiError as exc:
        print(f"awoooi: {exc}; check AWOOOI_REDIS_URL and that Valkey is up", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
    windows = window_rows(source.windows(), now) if settings.maintenance_file else None
    print_silences(silence_rows(silences, now, include_expired=args.all), windows, as_json=args.json, out=sys.stdout)
    return 0


async def _timeline(settings: Settings, args: argparse.Namespace) -> int:
    from starter.timeline_cli import timeline_command

    client = await _temporal_or_say(settings)
    if client is None:
        return 1
    fmt = "postmortem" if args.command == "postmortem" else "json" if args.json else \
        "markdown" if args.markdown else "text"
    return await timeline_command(client, settings, args.incident_id, fmt=fmt, out=sys.stdout, err=sys.stderr)


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    from starter.report_cli import report_command

    client = await _temporal_or_say(settings)
    if client is None:
        return 1
    return await report_command(client, settings, since=args.since, as_json=args.json, html=args.html,
                                out=sys.stdout, err=sys.stderr)


async def _generations(settings: Settings, args: argparse.Namespace) -> int:
    from starter.generations import GENERATIONS, print_report, report

    client = await _temporal_or_say(settings)
    if client is None:
        return 1
    rows = await report(client)
    print_report(rows, as_json=args.json, out=sys.stdout)
    if args.may_retire is not None:
        known = {g.number for g in GENERATIONS}
        if args.may_retire not in known:
            print(f"awoooi: no generation {args.may_retire} (known: {sorted(known)})", file=sys.stderr)
            return 2
        return 0 if next(r for r in rows if r["generation"] == args.may_retire)["may_retire"] else 1
    return 0


async def _telegram_webhook(settings: Settings, args: argparse.Namespace) -> int:
    from starter.ops_cli import set_telegram_webhook
    from activities.chat.channels import telegram_client
    from activities.connections import http_client

    async with http_client() as http:
        telegram = telegram_client(settings, http)
        if telegram is None:
            print("awoooi: set AWOOOI_TELEGRAM_BOT_TOKEN first", file=sys.stderr)
            return 2
        return await set_telegram_webhook(telegram, settings, args.public_url, out=sys.stdout, err=sys.stderr)


async def _temporal_or_none(settings: Settings):  # noqa: ANN202
    from starter.ops_cli import with_dev_defaults
    from activities.connections import connect_temporal

    try:
        return await connect_temporal(with_dev_defaults(settings))
    except RuntimeError:
        return None


async def _probe(settings: Settings, args: argparse.Namespace) -> int:
    from starter.probe_cli import probe_once
    from worker.wiring import chain_checks

    if args.api_base:
        settings = settings.model_copy(update={"api_base": args.api_base})
    client = await _temporal_or_none(settings)
    return await probe_once(client, lambda c, http: chain_checks(settings, c, http), settings.probe_api_base,
                            settings.probe_deadline, sys.stdout, as_json=args.json)


async def _schedule(settings: Settings, args: argparse.Namespace) -> int:
    from starter.ops_cli import with_dev_defaults
    from worker.schedule import control_schedule

    client = await _temporal_or_none(settings)
    if client is None:
        print(f"awoooi: cannot reach Temporal at {with_dev_defaults(settings).temporal_address}", file=sys.stderr)
        return 1
    print(await control_schedule(client, settings, args.action))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="awoooi", description="Durable AIOps alert pipeline on Temporal.",
        epilog="Every setting is an AWOOOI_ environment variable; deploy/README.md lists them all.")
    parser.add_argument("--version", action="version", version=f"awoooi {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.RawDescriptionHelpFormatter
    sub.add_parser("dev", help="start everything on embedded defaults (Temporal dev server, Valkey, worker, API)",
                   formatter_class=fmt, description=DEV_HELP)
    sub.add_parser("worker", help="run the Temporal worker (needs AWOOOI_TEMPORAL_ADDRESS, AWOOOI_REDIS_URL)",
                   formatter_class=fmt, description=WORKER_HELP)
    sub.add_parser("api", help="serve the webhook API (needs AWOOOI_TEMPORAL_ADDRESS, AWOOOI_REDIS_URL)",
                   formatter_class=fmt, description=API_HELP)
    incidents = sub.add_parser("incidents", help="list incidents (from Temporal's visibility)",
                               formatter_class=fmt, description=INCIDENTS_HELP)
    incidents.add_argument("--status", choices=["open", "resolved", "expired", "awaiting-approval"],
                           help="only these (default: every running incident)")
    incidents.add_argument("--all", action="store_true", help="closed incidents too")
    incidents.add_argument("--json", action="store_true", help="print JSON instead of a table")
    incidents.add_argument("--unacked", action="store_true",
                           help="only open incidents nobody has acknowledged yet (Acked=\"false\")")
    analyze = sub.add_parser("analyze", help="analyze alerts read on stdin (a payload, or JSON Lines); print JSON lines",
                             formatter_class=fmt, description=ANALYZE_HELP)
    analyze.add_argument("--explain", action="store_true", help="also say which signals matched and why the entry won")
    for verb in ("approve", "reject"):
        decide = sub.add_parser(verb, help=f"{verb} the repair an incident is waiting on")
        decide.add_argument("incident_id", help="the incident id shown on the card, e.g. alertmanager-1a2b3c")
        decide.add_argument("--by", help="who decides (shown on the card); default: your login name")
        decide.add_argument("--note", default="", help="why, for the record")
    acked = sub.add_parser("ack", help="acknowledge an incident: \"I'm on it\" (stops its re-notifications)")
    acked.add_argument("incident_id", help="the incident id shown on the card, e.g. alertmanager-1a2b3c")
    acked.add_argument("--by", help="who acknowledges (shown on the card); default: your login name")
    acked.add_argument("--note", default="", help="for the record")
    card = sub.add_parser("card", help="give an incident a storm digest lists its own card now",
                          formatter_class=fmt, description=CARD_HELP)
    card.add_argument("incident_id", help="the incident id its digest line shows, e.g. alertmanager-1a2b3c")
    learn = sub.add_parser("learning", help="what awoooi has learned about an anomaly key")
    learn.add_argument("view", choices=["summary", "recommend"])
    learn.add_argument("anomaly_key", help="alertname:service, as shown in the webhook's answer")
    learn.add_argument("--json", action="store_true", help="print JSON instead of a table")
    silences = sub.add_parser("silences", help="list silences (amtool's, the cards') and maintenance windows",
                              formatter_class=fmt, description=SILENCES_HELP)
    silences.add_argument("--all", action="store_true", help="expired silences too")
    silences.add_argument("--json", action="store_true", help="print JSON instead of tables")
    hook = sub.add_parser("telegram-webhook", help="point the bot's button taps at this awoooi (setWebhook)")
    hook.add_argument("public_url", help="the https base URL Telegram can reach awoooi's API at")
    books = sub.add_parser("playbooks", help="the playbooks learning wrote")
    books.add_argument("--json", action="store_true", help="print JSON instead of a table")
    probe = sub.add_parser("probe", help="check every link of the alert chain once; exit 1 if one is broken")
    probe.add_argument("--api-base", help="awoooi's API URL (default AWOOOI_API_BASE, else http://127.0.0.1:PORT)")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    generations = sub.add_parser("generations", help="the incident workflow's generations, their open runs, "
                                 "and whether a legacy one may be retired")
    generations.add_argument("--json", action="store_true", help="print JSON instead of lines")
    generations.add_argument("--may-retire", type=int, metavar="N",
                             help="exit 0 only if generation N may be retired (no open run), else 1")
    timeline = sub.add_parser("timeline", help="an incident's timeline, read from the history of every run",
                              formatter_class=fmt, description=TIMELINE_HELP)
    timeline.add_argument("incident_id", help="the incident id shown on the card")
    shape = timeline.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print JSON")
    shape.add_argument("--markdown", action="store_true", help="print a Markdown table")
    postmortem = sub.add_parser("postmortem", help="a postmortem draft in Markdown, in the card's language",
                                formatter_class=fmt, description=TIMELINE_HELP)
    postmortem.add_argument("incident_id", help="the incident id shown on the card")
    report = sub.add_parser("report", help="MTTA/MTTR per service, noisy and flapping alerts, repair success rates",
                            formatter_class=fmt, description=REPORT_HELP)
    report.add_argument("--since", default="7d", help="how far back: 7d, 24h, 90m (default 7d)")
    report.add_argument("--json", action="store_true", help="print JSON instead of text")
    report.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page with SVG charts")
    schedule = sub.add_parser("schedule", help="create or update the alert-chain probe's Temporal Schedule")
    what = schedule.add_mutually_exclusive_group()
    for verb in ("pause", "unpause", "trigger"):
        what.add_argument(f"--{verb}", dest="action", action="store_const", const=verb, help=f"{verb} the schedule")
    args = parser.parse_args(argv)

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "analyze":
        from starter.analyze_cli import analyze_stream

        try:
            return asyncio.run(analyze_stream(sys.stdin, sys.stdout, sys.stderr, explain=args.explain))
        except BrokenPipeError:
            # `awoooi analyze | head`: the reader left; that is not an error of ours.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if args.command not in ("worker", "dev"):  # those build their own runtime (worker/sdk_metrics.py)
        forward_sdk_core_logs()  # the Temporal SDK core's lines through our JSON handler, not its own text
    # The commands that open a Temporal client end without the interpreter's finalization, as the
    # long-running ones do (_exit_now): a failed or finished connect can leave the SDK's native
    # threads to abort the process at exit (SIGABRT instead of exit 1, seen in `awoooi incidents`
    # with no Temporal up; temporalio/sdk-python#300).
    temporal_commands = {"approve": _decide, "reject": _decide, "ack": _ack, "card": _own_card, "incidents": _incidents,
                         "probe": _probe, "schedule": _schedule, "generations": _generations,
                         "timeline": _timeline, "postmortem": _timeline, "report": _report}
    if args.command in temporal_commands:
        _exit_now(asyncio.run(temporal_commands[args.command](settings, args)))
    if args.command in ("learning", "playbooks"):
        return asyncio.run(_learning(settings, args))
    if args.command == "silences":
        return asyncio.run(_silences(settings, args))
    if args.command == "telegram-webhook":
        return asyncio.run(_telegram_webhook(settings, args))
    if args.command == "dev":
        from starter.dev import run_dev

        _exit_now(run_dev(settings))
    _require(settings, "temporal_address", "redis_url")
    from starter.service import ApiCannotListen

    try:
        asyncio.run(_until_signalled(settings, worker=args.command == "worker"))
    except ApiCannotListen as exc:
        print(f"awoooi {args.command}: {exc}", file=sys.stderr)
        _exit_now(1)
    _exit_now(0)
    return 0  # not reached


def _exit_now(code: int) -> None:
    """End a long-running command once it has shut down in order (the worker drained, the API
    closed), without the interpreter's finalization: the Temporal SDK's native threads can still
    call into Python then and abort the process (seen: SIGABRT "PyGILState_Release ... finalizing"
    after a clean SIGTERM drain), which Kubernetes would report as a crash."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
