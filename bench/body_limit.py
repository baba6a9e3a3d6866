"""Peak memory of an API process sent oversized bodies: with BodyLimit vs a bare app that reads them.

    .venv/bin/python bench/body_limit.py [--mb 300]

Each variant runs uvicorn in its own process (a Starlette route that reads the whole body, as the
Sentry signature check must); the bench streams a chunked body of ``--mb`` MB, then a 50 MB body
with a Content-Length, over loopback TCP, and prints the server's peak RSS (VmHWM), the bytes sent
before the answer arrived, and the ratio of peak growth (bare / limited). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starter.embedded import free_port  # noqa: E402

SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starter.body_limit import BodyLimit

async def read_all(request):
    body = await request.body()
    return JSONResponse({"read": len(body)}, status_code=401)

app = Starlette(routes=[Route("/hook", read_all, methods=["POST"])])
if sys.argv[2] == "limited":
    app = BodyLimit(app, max_bytes=1024 * 1024)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
CHUNK = b"x" * 65536


def vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


async def send(port: int, total: int, chunked: bool) -> tuple[str, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % total
    writer.write(b"POST /hook HTTP/1.1\r\nHost: b\r\n%s\r\n\r\n" % framing)
    answer = asyncio.create_task(reader.readline())
    sent = 0
    while sent < total and not answer.done():
        writer.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK)
        try:
            await asyncio.wait_for(writer.drain(), 30)
        except (ConnectionError, TimeoutError):
            break
        sent += len(CHUNK)
    if chunked and sent >= total and not answer.done():
        writer.write(b"0\r\n\r\n")
    status = (await asyncio.wait_for(answer, 60)).decode().strip()
    writer.close()
    return status, sent


async def run(variant: str, mb: int) -> int:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), variant],
                            cwd=Path(__file__).resolve().parents[1])
    try:
        for _ in range(100):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        base = vm(proc.pid, "VmRSS")
        started = time.monotonic()
        chunked = await send(port, mb * 1024 * 1024, chunked=True)
        declared = await send(port, 50 * 1024 * 1024, chunked=False)
        seconds = time.monotonic() - started
        peak = vm(proc.pid, "VmHWM")
        print(f"{variant:8} chunked {mb} MB: {chunked[0]!r}, {chunked[1] / 2**20:.1f} MB sent before the answer; "
              f"50 MB declared: {declared[0]!r}, {declared[1] / 2**20:.1f} MB sent; "
              f"RSS {base / 2**20:.0f} -> peak {peak / 2**20:.0f} MB ({seconds:.1f} s)")
        return peak - base
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=300)
    args = parser.parse_args()
    bare = asyncio.run(run("bare", args.mb))
    limited = asyncio.run(run("limited", args.mb))
    print(f"peak growth: bare {bare / 2**20:.0f} MB, limited {limited / 2**20:.1f} MB, "
          f"ratio {bare / max(limited, 1):.0f}x")


if __name__ == "__main__":
    main()
