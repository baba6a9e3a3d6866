"""A loopback OpenAI-compatible chat-completions API (the wire format OpenAI, Ollama, vLLM and
LiteLLM share).

It checks what real servers reject (path under ``/v1``, bearer auth when a key is configured, a
model, ``messages`` of ``{role, content}``, the word "json" in the messages when
``response_format`` is ``json_object``) and answers in the real ``chat.completion`` shape. Tests
script the next answers: a content string, a delay (to exercise timeouts) or an error status with
OpenAI's ``{"error": {"message", "type", "param", "code"}}`` body.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

from tests.loopback import LoopbackServer, Response, json_response

PATH = "/v1/chat/completions"
ROLES = {"system", "developer", "user", "assistant", "tool"}
RESPONSE_FORMATS = {"text", "json_object", "json_schema"}

GOOD_ANSWER: dict[str, Any] = {
    "category": "memory",
    "root_cause": "The checkout service leaks memory under load and is OOM-killed.",
    "impact": "Checkout requests fail while the pod restarts.",
    "fix_suggestion": "Restart the pod now, then profile the heap of the checkout service.",
    "prevention": "Add a memory regression test and alert on heap growth.",
    "confidence": 0.82,
    "recommended_action": "restart_pod",
    "reason": "A restart clears the leaked memory quickly; it worked 4 of 5 times before.",
}


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@dataclass
class _Scripted:
    status: int = 200
    content: str | None = None
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class OpenAILoopback(LoopbackServer):
    """Chat-completions stand-in. ``requests`` holds every decoded request body in order;
    ``authorizations`` the Authorization header of each (None when absent)."""

    def __init__(self, api_key: str | None = "sk-loopback-SECRET-0123456789") -> None:
        super().__init__()
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.default_content = json.dumps(GOOD_ANSWER)
        self._script: deque[_Scripted] = deque()
        self._released = threading.Event()
        self._next_id = 1

    @property
    def api_base(self) -> str:
        """What AWOOOI_LLM_BASE_URL would be: the server plus its version path."""
        return f"{self.base_url}/v1"

    # -- scripting ---------------------------------------------------------------------------------

    def answer_next(self, content: str | dict[str, Any], *, times: int = 1, delay: float = 0.0) -> None:
        """Answer the next ``times`` valid requests with this message content (a dict is sent as
        JSON), after ``delay`` seconds."""
        text = content if isinstance(content, str) else json.dumps(content)
        with self._lock:
            self._script.extend(_Scripted(content=text, delay=delay) for _ in range(times))

    def fail_next(
        self,
        status: int,
        message: str,
        *,
        type_: str = "server_error",
        code: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``times`` valid requests with ``status`` and OpenAI's error body."""
        body = error_body(message, type_, code)
        with self._lock:
            self._script.extend(
                _Scripted(status=status, error=body, headers=dict(headers or {}), delay=delay) for _ in range(times)
            )

    def start(self) -> Self:
        """Start, and stay quiet when a client hangs up on a delayed answer (its timeout fired,
        which is what the delay is for); any other handler error is still reported."""
        super().start()
        server = self._server
        assert server is not None
        report = server.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):
                report(request, client_address)

        server.handle_error = handle_error  # type: ignore[method-assign]
        return self

    def stop(self) -> None:
        """Release handlers still sleeping on a scripted delay, so shutdown never waits for them."""
        self._released.set()
        super().stop()

    # -- dispatch ------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        url_path = urlsplit(path).path
        if url_path != PATH:
            self.violation(f"{method} {url_path}: expected POST {PATH}")
            return json_response(404, error_body(f"Invalid URL ({method} {url_path})", "invalid_request_error"))
        if method != "POST":
            self.violation(f"{method} {PATH}: only POST is allowed")
            return json_response(405, error_body(f"Method {method} not allowed", "invalid_request_error"))
        authorization = headers.get("authorization")
        payload, problem = self._decode(headers, body)
        with self._lock:
            self.authorizations.append(authorization)
            if isinstance(payload, dict):
                self.requests.append(payload)
        if self.api_key is not None:
            if authorization is None:
                return json_response(401, error_body(
                    "You didn't provide an API key. You need to provide your API key in an Authorization "
                    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error"))
            if authorization != f"Bearer {self.api_key}":
                presented = authorization.removeprefix("Bearer ")
                masked = f"{presented[:3]}****{presented[-4:]}" if len(presented) > 8 else "****"
                return json_response(401, error_body(
                    f"Incorrect API key provided: {masked}.", "invalid_request_error", "invalid_api_key"))
        if problem:
            self.violation(problem)
            return json_response(400, error_body(problem, "invalid_request_error"))
        assert isinstance(payload, dict)
        with self._lock:
            scripted = self._script.popleft() if self._script else _Scripted(content=self.default_content)
            completion_id = self._next_id
            self._next_id += 1
        if scripted.delay:
            self._released.wait(scripted.delay)  # never under the lock: other requests go on
        if scripted.error is not None:
            return json_response(scripted.status, scripted.error, scripted.headers)
        return json_response(200, self._completion(completion_id, payload, scripted.content or ""))

    @staticmethod
    def _decode(headers: dict[str, str], body: bytes) -> tuple[Any, str | None]:
        """The request body and the first contract problem in it, if any."""
        if not headers.get("content-type", "").startswith("application/json"):
            return None, f"Content-Type must be application/json, got {headers.get('content-type')!r}"
        try:
            payload = json.loads(body)
        except ValueError:
            return None, "We could not parse the JSON body of your request."
        if not isinstance(payload, dict):
            return payload, "the request body must be a JSON object"
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            return payload, "you must provide a model parameter"
        messages = payload.get("messages")
        if not isinstance(messages, list) or not messages:
            return payload, "'messages' must be a non-empty array"
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                return payload, f"messages[{i}]: role must be one of {sorted(ROLES)}"
            if not isinstance(message.get("content"), str):
                return payload, f"messages[{i}]: content must be a string"
        temperature = payload.get("temperature", 1)
        if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
            return payload, f"temperature must be a number in [0, 2], got {temperature!r}"
        response_format = payload.get("response_format")
        if response_format is not None:
            if not isinstance(response_format, dict) or response_format.get("type") not in RESPONSE_FORMATS:
                return payload, f"response_format.type must be one of {sorted(RESPONSE_FORMATS)}"
            if response_format["type"] == "json_object" and not any(
                "json" in m["content"].lower() for m in messages
            ):
                return payload, ("'messages' must contain the word 'json' in some form, to use "
                                 "'response_format' of type 'json_object'.")
        return payload, None

    @staticmethod
    def _completion(completion_id: int, payload: dict[str, Any], content: str) -> dict[str, Any]:
        prompt_chars = sum(len(m["content"]) for m in payload["messages"])
        prompt_tokens, completion_tokens = prompt_chars // 4 + 1, len(content) // 4 + 1
        return {
            "id": f"chatcmpl-loopback{completion_id}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload["model"],
            "system_fingerprint": "fp_loopback",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
