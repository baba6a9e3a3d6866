"""Webhook credentials: shared token (bearer or basic password) and Sentry's body signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.datastructures import Headers

from core.errors import AuthenticationError
from starter.auth import check_token, verify_sentry_signature

TOKEN = "s3cr3t-t0ken-value"
SECRET = "sentry-client-secret-abc123"
RAW = (Path(__file__).parent / "fixtures" / "sentry_issue_alert_triggered.json").read_bytes()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TOKEN}"},
        {"authorization": f"bearer {TOKEN}"},
        {"AUTHORIZATION": basic("alertmanager", TOKEN)},
        {"Authorization": basic("", TOKEN)},
        {"Authorization": basic("any", TOKEN)},
        Headers({"authorization": f"Bearer {TOKEN}"}),
    ],
)
def test_valid_token_is_accepted(headers: dict[str, str]) -> None:
    check_token(headers, SecretStr(TOKEN))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
        {"Authorization": f"Token {TOKEN}"},
        {"Authorization": basic(TOKEN, "wrong")},  # token as username is not enough
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + base64.b64encode(TOKEN.encode()).decode()},  # no colon
        {"X-Token": TOKEN},
    ],
)
def test_wrong_or_missing_token_is_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(AuthenticationError) as exc_info:
        check_token(headers, SecretStr(TOKEN))
    message = str(exc_info.value)
    assert message == "missing or invalid webhook token"
    assert TOKEN not in message and "wrong" not in message


def test_no_configured_token_means_no_check() -> None:
    check_token({}, None)


def test_signature_over_fixture_raw_bytes() -> None:
    verify_sentry_signature(RAW, sign(RAW), SecretStr(SECRET))
    verify_sentry_signature(RAW, sign(RAW).upper(), SecretStr(SECRET))


def test_one_byte_change_fails() -> None:
    signature = sign(RAW)
    tampered = RAW.replace(b"heck is not defined", b"heck is not definee", 1)
    assert tampered != RAW and len(tampered) == len(RAW)
    with pytest.raises(AuthenticationError):
        verify_sentry_signature(tampered, signature, SecretStr(SECRET))


@pytest.mark.parametrize("signature", [None, "", "deadbeef", "not hex at all", "é" * 64])
def test_bad_or_missing_signature_fails_without_leaking(signature: str | None) -> None:
    with pytest.raises(AuthenticationError) as exc_info:
        verify_sentry_signature(RAW, signature, SecretStr(SECRET))
    message = str(exc_info.value)
    assert message == "missing or invalid Sentry-Hook-Signature"
    assert SECRET not in message
    assert sign(RAW) not in message


def test_signature_with_wrong_secret_fails() -> None:
    with pytest.raises(AuthenticationError):
        verify_sentry_signature(RAW, sign(RAW, "other-secret"), SecretStr(SECRET))


def test_no_configured_secret_means_no_check() -> None:
    verify_sentry_signature(RAW, None, None)
