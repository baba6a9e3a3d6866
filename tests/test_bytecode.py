"""The worker writes the workflow modules' bytecode at start (worker/bytecode.py): the sandbox loads
the workflow module for every new workflow, and without a current .pyc that is a compile each time."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from worker.bytecode import refresh_workflow_bytecode


def _current(source: Path) -> bool:
    cached = Path(importlib.util.cache_from_source(str(source)))
    if not cached.exists():
        return False
    header = cached.read_bytes()[:16]
    stat = source.stat()
    return int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF \
        and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF


def test_missing_and_stale_bytecode_is_written_though_python_writes_none(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    module = tmp_path / "flow.py"
    module.write_text("X = 1\n")
    assert not _current(module)
    assert refresh_workflow_bytecode(tmp_path)
    assert _current(module), "missing bytecode written"
    module.write_text("X = 2  # edited after the install\n")
    os.utime(module, (module.stat().st_atime, module.stat().st_mtime + 5))
    assert not _current(module)
    assert refresh_workflow_bytecode(tmp_path)
    assert _current(module), "stale bytecode rewritten"


def test_the_workflows_package_has_current_bytecode_after_a_refresh() -> None:
    import workflows

    assert refresh_workflow_bytecode()
    for source in Path(workflows.__file__).parent.glob("*.py"):
        assert _current(source), source.name
