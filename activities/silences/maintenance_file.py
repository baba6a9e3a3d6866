"""The maintenance settings file (AWOOOI_MAINTENANCE_FILE): YAML or JSON, parsed by core/maintenance.py.

Read once when the process starts (a broken file stops it, naming the problem) and again whenever
its modification time changes, so a ConfigMap update applies without a restart; a broken edit is
logged and the windows read before stay in force (never "no windows" because of a typo).

YAML is read without YAML 1.1's base-60 numbers: PyYAML would read an unquoted ``09:00`` as 540 and
``1:5`` as 65, where Alertmanager (Go's yaml) reads the strings an operator wrote.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import structlog
import yaml

from core.maintenance import MaintenanceInvalid, MaintenanceWindow, parse_maintenance

log = structlog.get_logger(__name__)


class _Loader(yaml.SafeLoader):
    """SafeLoader whose integers are decimal, octal or hex only (no ``1:30`` = 90)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:int"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int",
                              re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
                              list("-+0123456789"))


def parse_text(text: str, *, json_file: bool = False) -> tuple[MaintenanceWindow, ...]:
    try:
        document = json.loads(text) if json_file else yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader
    except (ValueError, yaml.YAMLError) as exc:
        raise MaintenanceInvalid(f"not valid {'JSON' if json_file else 'YAML'}: {exc}") from exc
    return parse_maintenance(document)


class MaintenanceFile:
    """The windows of one file, re-read when it changes. Without a file: no windows."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._windows: tuple[MaintenanceWindow, ...] = ()
        if path is not None:
            self._windows = self._read()  # a broken file at start is an error, not "no windows"

    @property
    def path(self) -> Path | None:
        return self._path

    def windows(self) -> tuple[MaintenanceWindow, ...]:
        if self._path is None:
            return ()
        try:
            stat = self._path.stat()
        except OSError as exc:
            log.error("maintenance file unreadable; keeping the windows read before", path=str(self._path),
                      error=type(exc).__name__)
            return self._windows
        if (stat.st_mtime_ns, stat.st_size) != self._stamp:
            try:
                self._windows = self._read()
                log.info("maintenance windows read", path=str(self._path), windows=len(self._windows))
            except (MaintenanceInvalid, OSError) as exc:
                self._stamp = (stat.st_mtime_ns, stat.st_size)  # said once per edit, not per alert
                log.error("maintenance file invalid; keeping the windows read before", path=str(self._path),
                          error=str(exc))
        return self._windows

    def _read(self) -> tuple[MaintenanceWindow, ...]:
        assert self._path is not None
        stat = self._path.stat()
        windows = parse_text(self._path.read_text(encoding="utf-8"), json_file=self._path.suffix.lower() == ".json")
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        return windows
