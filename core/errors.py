"""awoooi's exception tree, written out once.

AwoooiError
├── PayloadError          a webhook body we will never accept (-> 422, nothing started)
├── AuthenticationError   a delivery without valid credentials (-> 401, nothing started)
├── AccessDenied          valid credentials, but not allowed to do this (-> 403)
├── NotFound              no such incident, approval or anomaly (-> 404)
├── DecisionRefused       the incident has nothing to decide, or it was decided already (-> 409)
├── UpstreamError         an external API failed; ``retryable`` says whether trying again can help
│   ├── RateLimited       the API asked us to wait ``retry_after`` seconds
│   └── MessageGone       the chat message to edit was deleted
└── IntakeUnavailable     Temporal could not take the alert durably (-> 503, the sender retries)

Adapters catch their library's exceptions and raise these ``from exc``; activities turn
``UpstreamError(retryable=False)`` into a non-retryable ApplicationError.
"""

from __future__ import annotations


class AwoooiError(Exception):
    """Base of every error awoooi raises on purpose."""


class PayloadError(AwoooiError):
    """The payload is malformed or not something we can ever process."""


class AuthenticationError(AwoooiError):
    """Missing or wrong webhook credentials."""


class AccessDenied(AwoooiError):
    """Authenticated (or at least identified) but not allowed: e.g. a tap from a non-approver."""


class NotFound(AwoooiError):
    """The thing asked for does not exist (any more)."""


class DecisionRefused(AwoooiError):
    """The workflow refused an update: an approve/reject with nothing awaiting or already decided,
    an own card for an incident that is closed or whose card could not be sent."""


class UpstreamError(AwoooiError):
    def __init__(self, message: str, *, retryable: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code


class RateLimited(UpstreamError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retryable=True, status_code=429)
        self.retry_after = retry_after


class MessageGone(UpstreamError):
    """The chat message to edit no longer exists (someone deleted it): send it again, once."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message, retryable=False, status_code=status_code)


class IntakeUnavailable(AwoooiError):
    """The alert could not be handed to Temporal; the sender must retry."""
