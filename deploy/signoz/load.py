#!/usr/bin/env python3
"""Load awoooi's SigNoz alert rules and its notification channel into a SigNoz instance.

    SIGNOZ_URL=https://signoz.example.com SIGNOZ_API_KEY=... \
    SIGNOZ_WEBHOOK_BASE_URL=https://awoooi.example.com AWOOOI_WEBHOOK_TOKEN=... \
    python deploy/signoz/load.py

Idempotent, so it can run from CD on every release: the channel ``awoooi`` and each rule (by its
``alert`` name) are updated in place when they exist and created otherwise, through SigNoz's own
API (``/api/v1/channels``, ``/api/v1/rules``) with the API key in the ``SIGNOZ-API-KEY`` header.
The channel goes first, since every rule names it in ``preferredChannels``. Neither secret is
ever printed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REQUIRED = ("SIGNOZ_URL", "SIGNOZ_API_KEY", "SIGNOZ_WEBHOOK_BASE_URL", "AWOOOI_WEBHOOK_TOKEN")


class LoadError(Exception):
    """SigNoz refused a request; the message names which, never a secret."""


def _data(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise LoadError(f"{what}: SigNoz answered {response.status_code}: {response.text[:300]}")
    return response.json().get("data") if response.content else None


def channel(awoooi_url: str, webhook_token: str) -> dict[str, Any]:
    text = (HERE / "channel.json").read_text()
    definition = json.loads(text)
    config = definition["webhook_configs"][0]
    config["url"] = config["url"].replace("${SIGNOZ_WEBHOOK_BASE_URL}", awoooi_url.rstrip("/"))
    config["http_config"]["authorization"]["credentials"] = webhook_token
    return definition


def rules() -> list[dict[str, Any]]:
    return json.loads((HERE / "rules.json").read_text())


def load(client: httpx.Client, awoooi_url: str, webhook_token: str) -> list[str]:
    """Apply the channel, then the rules; returns one line per change for the operator."""
    done: list[str] = []
    wanted = channel(awoooi_url, webhook_token)
    existing = {c["name"]: c["id"] for c in _data(client.get("/api/v1/channels"), "list channels") or []}
    if wanted["name"] in existing:
        _data(client.put(f"/api/v1/channels/{existing[wanted['name']]}", json=wanted), "update channel")
        done.append(f"channel {wanted['name']}: updated")
    else:
        _data(client.post("/api/v1/channels", json=wanted), "create channel")
        done.append(f"channel {wanted['name']}: created")

    listed = _data(client.get("/api/v1/rules"), "list rules") or {}
    by_name = {r["alert"]: r["id"] for r in listed.get("rules") or []}
    for rule in rules():
        name = rule["alert"]
        if name in by_name:
            _data(client.put(f"/api/v1/rules/{by_name[name]}", json=rule), f"update rule {name}")
            done.append(f"rule {name}: updated")
        else:
            _data(client.post("/api/v1/rules", json=rule), f"create rule {name}")
            done.append(f"rule {name}: created")
    return done


def main(environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    missing = [name for name in REQUIRED if not environ.get(name, "").strip()]
    if missing:
        print(f"set {', '.join(missing)} (see deploy/README.md, SigNoz)", file=sys.stderr)
        return 2
    headers = {"SIGNOZ-API-KEY": environ["SIGNOZ_API_KEY"], "Accept": "application/json"}
    timeout = httpx.Timeout(15.0, connect=5.0)
    try:
        with httpx.Client(base_url=environ["SIGNOZ_URL"].rstrip("/"), headers=headers, timeout=timeout) as client:
            for line in load(client, environ["SIGNOZ_WEBHOOK_BASE_URL"], environ["AWOOOI_WEBHOOK_TOKEN"]):
                print(line)
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"error: cannot reach SigNoz at {environ['SIGNOZ_URL']}: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
