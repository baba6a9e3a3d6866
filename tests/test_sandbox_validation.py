"""Workers are built with the collector paused (worker/wiring.py, docs/adr/0018), and only while built."""

from __future__ import annotations

import gc

import pytest

from worker.wiring import sandbox_validation


def test_the_collector_is_paused_while_a_worker_is_built_and_restored_after() -> None:
    assert gc.isenabled()
    with sandbox_validation():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), sandbox_validation():
        raise RuntimeError("Failed validating workflow")
    assert gc.isenabled(), "a failed build gives the collector back too"
    gc.disable()
    try:
        with sandbox_validation():
            pass
        assert not gc.isenabled(), "a collector paused by someone else stays paused"
    finally:
        gc.enable()
