"""JSON bodies with bounds: depth, integer size, finite numbers, and no lone surrogates.

``json.loads`` alone lets through what later breaks far from the request: a 5,000-digit integer
raises ValueError (Python's int-string limit), ``1e999`` becomes ``inf`` (OverflowError in int()),
deep nesting exhausts the stack in whatever walks it next, and a lone surrogate (``"\\ud800"``) is
a valid JSON string that no UTF-8 encoder accepts, Temporal's included. Each becomes a
:class:`PayloadError` naming the problem (-> 422), except surrogates, which are replaced with
U+FFFD so the rest of the delivery is still taken.
"""

from __future__ import annotations

import json
import math
from typing import Any

from core.errors import PayloadError
from core.text import replace_surrogates

MAX_DEPTH = 64
MAX_INT_DIGITS = 40
def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise PayloadError(f"body: an integer has {digits} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError(f"body: the number {text[:40]} is out of range")
    return value


def _constant(name: str) -> Any:
    raise PayloadError(f"body: {name} is not a JSON number")


def _clean(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise PayloadError(f"body: JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return replace_surrogates(value)
    if isinstance(value, list):
        return [_clean(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {replace_surrogates(k): _clean(v, depth + 1) for k, v in value.items()}
    return value


def loads_bounded(raw: bytes) -> Any:
    """Parse a request body; PayloadError (naming the problem) for anything we will never accept."""
    try:
        parsed = json.loads(raw, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise PayloadError(f"body: JSON nested deeper than {MAX_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from exc
    except ValueError as exc:  # any other number json cannot turn into a Python value
        raise PayloadError(f"body: {exc}") from exc
    return _clean(parsed, 0)


__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "loads_bounded", "replace_surrogates"]
