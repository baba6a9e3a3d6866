"""Webhook authentication: a shared token (Alertmanager, SigNoz) and Sentry's body signature.

Both checks compare in constant time and their errors never echo the expected or presented secret,
because error messages end up in logs and HTTP responses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from pydantic import SecretStr

from core.errors import AccessDenied, AuthenticationError

_TOKEN_ERROR = "missing or invalid webhook token"
_SIGNATURE_ERROR = "missing or invalid Sentry-Hook-Signature"


def check_token(headers: Mapping[str, str], expected: SecretStr | None) -> None:
    """Accept ``Authorization: Bearer <token>`` or Basic auth whose password is the token.

    Basic is accepted with any username because Alertmanager's and SigNoz's UIs offer basic auth
    (SigNoz puts a bearer token in the password field). No-op when no token is configured.
    """
    if expected is None:
        return
    token = expected.get_secret_value().encode()
    presented = _presented_token(headers)
    if presented is None or not hmac.compare_digest(presented, token):
        raise AuthenticationError(_TOKEN_ERROR)


def verify_sentry_signature(raw_body: bytes, signature: str | None, secret: SecretStr | None) -> None:
    """Check ``Sentry-Hook-Signature``: hex HMAC-SHA256 of the exact raw body with the client secret.

    Must run on the bytes as received: re-serialised JSON would not match. No-op without a secret.
    """
    if secret is None:
        return
    if not signature:
        raise AuthenticationError(_SIGNATURE_ERROR)
    digest = hmac.new(secret.get_secret_value().encode(), raw_body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest.encode(), signature.strip().lower().encode()):
        raise AuthenticationError(_SIGNATURE_ERROR)


def check_telegram_secret(headers: Mapping[str, str], secret: SecretStr | None) -> None:
    """Telegram sends setWebhook's ``secret_token`` in X-Telegram-Bot-Api-Secret-Token. Without a
    configured secret the endpoint is closed: anyone could otherwise forge button taps."""
    if secret is None:
        raise AccessDenied("Telegram updates are disabled: set AWOOOI_TELEGRAM_WEBHOOK_SECRET")
    presented = next((v for k, v in headers.items() if k.lower() == "x-telegram-bot-api-secret-token"), "")
    if not hmac.compare_digest(presented.encode(), secret.get_secret_value().encode()):
        raise AuthenticationError("missing or invalid X-Telegram-Bot-Api-Secret-Token")


def require_api_token(headers: Mapping[str, str], expected: SecretStr | None, *,
                      what: str = "approvals over the API") -> None:
    """Approving a repair changes production, and a silence hides alerts: both need
    AWOOOI_API_TOKEN, never an open endpoint. ``what`` names what is disabled without it."""
    if expected is None:
        raise AccessDenied(f"{what} are disabled: set AWOOOI_API_TOKEN")
    presented = _presented_token(headers)
    if presented is None or not hmac.compare_digest(presented, expected.get_secret_value().encode()):
        raise AuthenticationError("missing or invalid API token")


def _presented_token(headers: Mapping[str, str]) -> bytes | None:
    authorization = next(
        (value for key, value in headers.items() if key.lower() == "authorization"), None
    )
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return None
    if scheme.lower() == "bearer":
        return credentials.encode()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            return None
        _, sep, password = decoded.partition(b":")
        return password if sep else None
    return None
