"""Which clients read an early 413 (a body over AWOOOI_MAX_BODY_BYTES) and which get a reset.

    .venv/bin/python bench/early_answers.py [--times 10] [--code DIR]

`awoooi api` runs as its own process (on an embedded Temporal dev server and Valkey, 1 MiB limit);
each client posts bodies of 1.1 MiB and 8 MiB (with a Content-Length) and 300 MB (chunked) to the
Alertmanager webhook ``--times`` times (300 MB: a third as often) and the table says how often it
read the 413, and what it got otherwise. Clients: curl, httpx, Python's http.client and urllib,
and a real Alertmanager (Go's net/http) sending one group of 2,000 alerts (about 1.9 MB) to the
webhook, read off its own log. ``--code DIR`` runs the API from another checkout
(``git archive main | tar -x -C DIR``): the same table before a change. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from starter.embedded import Process, free_port, temporal_dev_server, valkey_server  # noqa: E402

TOKEN = "bench-early-answers"
HOOK = "/api/v1/webhooks/alertmanager"
HEADERS = {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"}
MIB = 1024 * 1024
CHUNK = b"x" * 65536
SIZES = {"1.1 MiB": (int(1.1 * MIB), False), "8 MiB": (8 * MIB, False), "300 MB chunked": (300_000_000, True)}


def pieces(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = CHUNK[: min(len(CHUNK), total - sent)]
        sent += len(piece)
        yield piece


def outcome(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return type(reason if isinstance(reason, BaseException) else exc).__name__


def curl(url: str, size: int, chunked: bool, tmp: Path) -> str:
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "60"]
    for name, value in HEADERS.items():
        args += ["-H", f"{name}: {value}"]
    if chunked:
        proc = subprocess.Popen([*args, "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", url],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            for piece in pieces(size):
                proc.stdin.write(piece)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        out = proc.stdout.read().decode()
        code = proc.wait(90)
    else:
        path = tmp / f"body-{size}"
        if not path.exists():
            path.write_bytes(b"x" * size)
        done = subprocess.run([*args, "--data-binary", f"@{path}", url], capture_output=True, timeout=90, check=False)
        out, code = done.stdout.decode(), done.returncode
    return out if out not in ("", "000") else f"curl exit {code}"


def with_httpx(url: str, size: int, chunked: bool, tmp: Path) -> str:
    try:
        return str(httpx.post(url, content=pieces(size) if chunked else b"x" * size, headers=HEADERS,
                              timeout=60).status_code)
    except httpx.HTTPError as exc:
        return outcome(exc)


def with_http_client(url: str, size: int, chunked: bool, tmp: Path) -> str:
    host, port = url.split("/")[2].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("POST", HOOK, body=pieces(size) if chunked else b"x" * size, headers=HEADERS,
                     encode_chunked=chunked)
        return str(conn.getresponse().status)
    except OSError as exc:
        return outcome(exc)
    finally:
        conn.close()


def with_urllib(url: str, size: int, chunked: bool, tmp: Path) -> str:
    request = urllib.request.Request(url, data=pieces(size) if chunked else b"x" * size, headers=HEADERS,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
            return str(answer.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except OSError as exc:
        return outcome(exc)


CLIENTS = {"curl": curl, "httpx": with_httpx, "http.client": with_http_client, "urllib": with_urllib}


async def alertmanager_once(tmp: Path, url: str, count: int) -> str:
    """One oversized group of ``count`` alerts through a real Alertmanager; what its log says about
    the delivery of the whole group."""
    from tests.test_real_alertmanager import alertmanager  # the tests' own Alertmanager runner

    run = uuid.uuid4().hex[:8]
    alerts = [{"labels": {"alertname": f"Oversized{run}", "instance": f"host-{i:04d}"},
               "annotations": {"summary": "x" * 700}} for i in range(count)]
    where = tmp / f"am-{run}"
    where.mkdir()
    async with alertmanager(where, url, TOKEN) as am_url:
        async with httpx.AsyncClient(timeout=10) as http:
            await http.post(f"{am_url}/api/v2/alerts", json=alerts)
        log = where / "alertmanager" / "alertmanager.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lines = [line for line in log.read_text().splitlines() if f"num_alerts={count}" in line
                     or ("Notify attempt failed" in line)]
            if lines:
                break
            await asyncio.sleep(0.2)
        text = log.read_text()
    for line in text.splitlines():
        if f"num_alerts={count}" in line or "Notify attempt failed" in line:
            if "unexpected status code 413" in line:
                return "413"
            for symptom in ("connection reset by peer", "broken pipe", "EOF", "timeout"):
                if symptom in line:
                    return symptom
            return line[-120:]
    return "no delivery seen"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--code", help="run the API from this checkout instead")
    args = parser.parse_args()
    if args.code:  # the API runs `python -m starter.cli` from this directory: its code comes first
        os.chdir(args.code)
    tmp = Path(tempfile.mkdtemp(prefix="awoooi-early-"))
    temporal_port, valkey_port, api_port = free_port(), free_port(), free_port()
    temporal = temporal_dev_server(tmp / "temporal", port=temporal_port, ui_port=None)
    valkey = valkey_server(tmp, port=valkey_port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
    env |= {"AWOOOI_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}", "AWOOOI_REDIS_URL": f"redis://127.0.0.1:{valkey_port}/0",
            "AWOOOI_API_PORT": str(api_port), "AWOOOI_WEBHOOK_TOKEN": TOKEN, "AWOOOI_TASK_QUEUE": "early",
            "AWOOOI_LOG_FORMAT": "json"}
    if args.code:
        env["PYTHONPATH"] = str(Path(args.code).resolve())
    api = Process("api", [sys.executable, "-m", "starter.cli", "api"], api_port, tmp / "api.log", env=env)
    url = f"http://127.0.0.1:{api_port}{HOOK}"
    try:
        valkey.start()
        temporal.start()
        api.start(timeout=60)
        print(f"code: {args.code or 'this checkout'}; {args.times} tries per cell (300 MB: {max(1, args.times // 3)})")
        print(f"{'client':14}" + "".join(f" | {name:42}" for name in SIZES))
        for name, send in CLIENTS.items():
            row = []
            for size_name, (size, chunked) in SIZES.items():
                tries = args.times if not chunked else max(1, args.times // 3)
                got = Counter(send(url, size, chunked, tmp) for _ in range(tries))
                read = got.pop("413", 0)
                other = ", ".join(f"{n} {what}" for what, n in got.most_common())
                row.append(f"{read}/{tries} read" + (f" ({other})" if other else ""))
            print(f"{name:14}" + "".join(f" | {cell:42}" for cell in row), flush=True)
        if shutil.which("prometheus-alertmanager"):
            for count, about in ((2000, "~1.9 MB"), (10000, "~9.5 MB")):
                tries = max(1, args.times // 3)
                results = Counter(asyncio.run(alertmanager_once(tmp, url, count)) for _ in range(tries))
                read = results.pop("413", 0)
                other = ", ".join(f"{n} {what}" for what, n in results.most_common())
                print(f"{'Alertmanager':14} | group of {count:,} alerts ({about}): {read}/{tries} read"
                      + (f" ({other})" if other else ""), flush=True)
        health = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/ready", timeout=5)
        print(f"after: /api/v1/ready {health.status_code} {json.dumps(health.json())}")
    finally:
        api.stop()
        temporal.stop()
        valkey.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
