"""The data converter every awoooi client and worker uses: pydantic v2 models as JSON.

One change to the SDK's pydantic converter: ``None`` is written as JSON ``null`` rather than as a
``binary/null`` payload, which the Temporal Web UI shows as base64 (an activity with no result,
such as "record for learning", then reads ``null``). Reading is unchanged, so histories recorded with
``binary/null`` payloads still decode and replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter

_JSON = b"json/plain"


class JsonNullPayloadConverter(PydanticPayloadConverter):
    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        payloads = super().to_payloads(values)
        as_json = self.converters[_JSON]
        return [as_json.to_payload(None) or payload if value is None else payload  # type: ignore[misc]
                for value, payload in zip(values, payloads, strict=True)]


data_converter = DataConverter(payload_converter_class=JsonNullPayloadConverter)

__all__ = ["JsonNullPayloadConverter", "data_converter"]
