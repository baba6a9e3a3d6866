"""Anomaly keys: ASCII names keep exactly today's keys (learning data is stored under them);
non-ASCII names keep their words as UTF-8, bounded in bytes, with a hash only when cut."""

from __future__ import annotations

import pytest

from core.identity import ANOMALY_PART_BYTES, anomaly_key
from core.models import Alert, AlertStatus, Source


def alert(name: str, service: str = "svc") -> Alert:
    return Alert(source=Source.ALERTMANAGER, fingerprint="f", status=AlertStatus.FIRING, title=name,
                 labels={"alertname": name}, service=service)


@pytest.mark.parametrize(("name", "key"), [
    ("HostHighCpuLoad", "hosthighcpuload:svc"),
    ("Disk Running/Full", "disk_running_full:svc"),
    ("x" * 70, "x" * 51 + "_" + __import__("hashlib").sha256(b"x" * 70).hexdigest()[:8] + ":svc"),
])
def test_ascii_keys_are_unchanged(name: str, key: str) -> None:
    assert anomaly_key(alert(name)) == key


def test_chinese_names_stay_readable() -> None:
    assert anomaly_key(alert("CPU使用率过高")) == "cpu使用率过高:svc"
    assert anomaly_key(alert("磁盘 空间 不足", "订单服务")) == "磁盘_空间_不足:订单服务"


def test_long_non_ascii_names_are_bounded_and_stay_distinct() -> None:
    a, b = anomaly_key(alert("主机" * 40)), anomaly_key(alert("主机" * 41))
    assert a != b
    name_part = a.split(":")[0]
    assert len(name_part.encode()) <= ANOMALY_PART_BYTES
    assert name_part.startswith("主机主机")
