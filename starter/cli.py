"""The `awoooi` command: dev, worker, api, analyze, approve, reject, learning, playbooks, telegram-webhook."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from core.errors import AwoooiError
from core.logging import configure_logging
from core.settings import Settings


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


async def _until_signalled(settings: Settings, *, worker: bool, api: bool) -> None:
    from worker.service import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, worker=worker, api=api, stop=stop)


async def _decide(settings: Settings, args: argparse.Namespace) -> int:
    from starter.ops_cli import decide, with_dev_defaults
    from worker.wiring import connect_temporal

    try:
        client = await connect_temporal(with_dev_defaults(settings))
    except RuntimeError as exc:  # the SDK's "Failed client connect"
        print(f"awoooi: cannot reach Temporal at {with_dev_defaults(settings).temporal_address}: {exc}",
              file=sys.stderr)
        return 1
    return await decide(client, settings, args.incident_id, approve=args.command == "approve", by=args.by,
                        note=args.note, out=sys.stdout, err=sys.stderr)


async def _learning(settings: Settings, args: argparse.Namespace) -> int:
    from starter.ops_cli import learning_text, with_dev_defaults
    from worker.wiring import connect_redis, learning_service

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


async def _telegram_webhook(settings: Settings, args: argparse.Namespace) -> int:
    from starter.ops_cli import set_telegram_webhook
    from worker.wiring import http_client, telegram_client

    async with http_client() as http:
        telegram = telegram_client(settings, http)
        if telegram is None:
            print("awoooi: set AWOOOI_TELEGRAM_BOT_TOKEN first", file=sys.stderr)
            return 2
        return await set_telegram_webhook(telegram, settings, args.public_url, out=sys.stdout, err=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="awoooi", description="Durable AIOps alert pipeline on Temporal.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="start everything on embedded defaults (Temporal dev server, Valkey, worker, API)")
    sub.add_parser("worker", help="run the Temporal worker (needs AWOOOI_TEMPORAL_ADDRESS, AWOOOI_REDIS_URL)")
    sub.add_parser("api", help="serve the webhook API (needs AWOOOI_TEMPORAL_ADDRESS, AWOOOI_REDIS_URL)")
    analyze = sub.add_parser("analyze", help="analyze alerts read on stdin (a payload, or JSON Lines); print JSON lines")
    analyze.add_argument("--explain", action="store_true", help="also say which signals matched and why the entry won")
    for verb in ("approve", "reject"):
        decide = sub.add_parser(verb, help=f"{verb} the repair an incident is waiting on")
        decide.add_argument("incident_id", help="the incident id shown on the card, e.g. alertmanager-1a2b3c")
        decide.add_argument("--by", help="who decides (shown on the card); default: your login name")
        decide.add_argument("--note", default="", help="why, for the record")
    learn = sub.add_parser("learning", help="what awoooi has learned about an anomaly key")
    learn.add_argument("view", choices=["summary", "recommend"])
    learn.add_argument("anomaly_key", help="alertname:service, as shown in the webhook's answer")
    learn.add_argument("--json", action="store_true", help="print JSON instead of a table")
    hook = sub.add_parser("telegram-webhook", help="point the bot's button taps at this awoooi (setWebhook)")
    hook.add_argument("public_url", help="the https base URL Telegram can reach awoooi's API at")
    books = sub.add_parser("playbooks", help="the playbooks learning wrote")
    books.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "analyze":
        from starter.analyze_cli import analyze_stream

        return asyncio.run(analyze_stream(sys.stdin, sys.stdout, sys.stderr, explain=args.explain))
    if args.command in ("approve", "reject"):
        return asyncio.run(_decide(settings, args))
    if args.command in ("learning", "playbooks"):
        return asyncio.run(_learning(settings, args))
    if args.command == "telegram-webhook":
        return asyncio.run(_telegram_webhook(settings, args))
    if args.command == "dev":
        from starter.dev import run_dev

        return run_dev(settings)
    _require(settings, "temporal_address", "redis_url")
    asyncio.run(_until_signalled(settings, worker=args.command == "worker", api=args.command == "api"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
