"""A trivial endpoint in its own process: reads the body, answers 200. The load generator's ceiling.

    python bench/bare_app.py PORT

The same uvicorn (and the same uvloop/httptools, when installed) `awoooi api` runs on, so what the
generator reaches here is an upper bound no API figure in the same run can be limited below.
"""

from __future__ import annotations

import sys

import uvicorn

ANSWER = b'{"alerts":[{"status":"ok"}]}'


async def app(scope, receive, send) -> None:  # noqa: ANN001 - the bare ASGI interface
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]})
    await send({"type": "http.response.body", "body": ANSWER})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
                lifespan="off")
