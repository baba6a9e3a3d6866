"""Keep secrets that travel in URLs (a Telegram bot token, runbook credentials) out of log lines.

httpx logs every request URL at INFO ("HTTP Request: POST https://.../bot<token>/sendMessage"), and
its exceptions carry the URL too. Adapters never format those exceptions themselves; this filter
rewrites httpx's and httpcore's own records before any handler sees them.
"""

from __future__ import annotations

import logging

Redactions = tuple[tuple[str, str], ...]  # (text that must not appear, what to show instead)
REDACTED = "<redacted>"

_HTTP_LOGGERS = ("httpx", "httpcore")


def hiding(*secrets: str | None) -> Redactions:
    """Redactions that show each non-empty secret as ``<redacted>``, longest first (so a secret
    that contains another is replaced whole)."""
    return tuple((secret, REDACTED) for secret in sorted({s for s in secrets if s}, key=len, reverse=True))


def redact(text: str, redactions: Redactions) -> str:
    for secret, shown in redactions:
        if secret:
            text = text.replace(secret, shown)
    return text


class RedactFilter(logging.Filter):
    def __init__(self, redactions: Redactions) -> None:
        super().__init__()
        self.redactions = redactions

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret and secret in message for secret, _ in self.redactions):
            record.msg = redact(message, self.redactions)
            record.args = None
        return True


def install_redaction(redactions: Redactions) -> None:
    """Attach one filter per set of redactions to the HTTP client's loggers (idempotent)."""
    for name in _HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFilter) and f.redactions == redactions for f in logger.filters):
            logger.addFilter(RedactFilter(redactions))
