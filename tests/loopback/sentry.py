"""A loopback Sentry web API for the one endpoint awoooi calls: comment on an issue.

It enforces the current (organization-scoped, trailing-slash) path, bearer auth and the JSON body, and
reproduces Sentry's duplicate-comment rule ("You have already posted that comment."), which is what
makes a retried comment activity idempotent.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import UTC, datetime
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.loopback import LoopbackServer, Response, decode_json, json_response

_COMMENTS = re.compile(r"/api/0/organizations/([^/]+)/issues/([^/]+)/comments/")
_ORGANIZATION = re.compile(r"/api/0/organizations/([^/]+)/")
_DEPRECATED = re.compile(r"/api/0/issues/([^/]+)/comments/?")
ALREADY_POSTED = ["You have already posted that comment."]
NOT_FOUND = {"detail": "The requested resource does not exist"}


class SentryLoopback(LoopbackServer):
    """Sentry stand-in. ``comments`` maps issue id -> texts successfully posted, in order."""

    def __init__(self, token: str = "sntrys_test_token", org: str = "test-org") -> None:
        super().__init__()
        self.token = token
        self.org = org
        self.comments: dict[str, list[str]] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self._failures: deque[tuple[int, dict[str, Any] | str, dict[str, str]]] = deque()
        self._next_id = 1
        self._after_post: deque[Callable[[], None]] = deque()

    def fail_next(
        self, status: int, body: dict[str, Any] | str, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` well-formed requests with ``status``; a str body is sent as text/html."""
        with self._lock:
            self._failures.extend([(status, body, dict(headers or {}))] * times)

    def after_next_comment(self, hook: Callable[[], None]) -> None:
        """Run ``hook()`` once, after the next comment is posted and before the 201 leaves."""
        with self._lock:
            self._after_post.append(hook)

    def _organization(self, org: str, headers: dict[str, str]) -> Response:
        """GET an organization (scope org:read): the probe's read call to check the token."""
        if headers.get("authorization") != f"Bearer {self.token}":
            return json_response(401, {"detail": "Invalid token"})
        if self._failures:
            status, scripted, extra = self._failures.popleft()
            return json_response(status, scripted, extra)
        if org != self.org:
            return json_response(404, NOT_FOUND)
        return json_response(200, {"id": "1", "slug": org, "name": org})

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        url_path = urlsplit(path).path
        payload = decode_json(body)
        with self._lock:
            self.calls.append((method, url_path, payload if isinstance(payload, dict) else {}))
            if _DEPRECATED.fullmatch(url_path):
                self.violations.append(f"deprecated endpoint used: {url_path}")
                return json_response(404, NOT_FOUND)
            org_match = _ORGANIZATION.fullmatch(url_path)
            if org_match and method == "GET":
                return self._organization(unquote(org_match.group(1)), headers)
            match = _COMMENTS.fullmatch(url_path)
            if not match:
                self.violations.append(f"unexpected path {url_path!r} (trailing slash required)")
                return json_response(404, NOT_FOUND)
            if method != "POST":
                self.violations.append(f"{method} {url_path}: only POST is used")
                return json_response(405, {"detail": f'Method "{method}" not allowed.'})
            auth = headers.get("authorization", "")
            if not auth.startswith("Bearer ") or not auth[7:].strip():
                self.violations.append("missing or malformed Authorization: Bearer header")
                return json_response(401, {"detail": "Authentication credentials were not provided."})
            if auth[7:] != self.token:
                # A wrong token is a deployment problem the client must survive, not a contract bug.
                return json_response(401, {"detail": "Invalid token"})
            if not headers.get("content-type", "").startswith("application/json"):
                self.violations.append("body must be sent as application/json")
                return json_response(400, {"detail": "Unsupported media type"})
            if not isinstance(payload, dict) or not isinstance(payload.get("text"), str) or not payload["text"].strip():
                self.violations.append(f"body needs a non-empty string 'text', got {payload!r:.200}")
                return json_response(400, {"text": ["This field is required."]})
            if self._failures:
                status, scripted, extra = self._failures.popleft()
                if isinstance(scripted, str):
                    return status, {"Content-Type": "text/html", **extra}, scripted.encode()
                return json_response(status, scripted, extra)
            org, issue_id = unquote(match.group(1)), unquote(match.group(2))
            if org != self.org:
                return json_response(404, NOT_FOUND)
            posted = self.comments.setdefault(issue_id, [])
            if payload["text"] in posted:
                return json_response(400, ALREADY_POSTED)
            posted.append(payload["text"])
            note_id = str(self._next_id)
            self._next_id += 1
            hook = self._after_post.popleft() if self._after_post else None
        if hook is not None:
            hook()
        return json_response(
            201,
            {
                "id": note_id,
                "type": "note",
                "data": {"text": payload["text"]},
                "dateCreated": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "user": {"id": "1", "name": "awoooi", "username": "awoooi"},
            },
        )
