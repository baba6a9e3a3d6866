"""The machine a bench ran on, and the memory of its processes, read from /proc."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from starter.embedded import valkey_binary, venv_binary


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def describe() -> list[tuple[str, str]]:
    mem_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    return [
        ("cores", f"{len(os.sched_getaffinity(0))} usable of {os.cpu_count()} (nproc)"),
        ("cpu", _first("/proc/cpuinfo", "model name")),
        ("ram", f"{int(mem_kb) / 1024 / 1024:.1f} GiB" if mem_kb.isdigit() else "?"),
        ("os", f"{platform.system()} {platform.release()}"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("temporal", f"{_run([venv_binary('temporal'), '--version'])}; temporalio SDK {_package('temporalio')}"),
        ("valkey", _run([valkey_binary(), "--version"])),
        ("uvicorn", f"{_package('uvicorn')} (uvloop {_package('uvloop')}, httptools {_package('httptools')})"),
        ("load average", load_average()),
    ]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min; the machine is shared)"


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB: resident now, and the peak resident since it started."""
    status = f"/proc/{pid}/status"

    def mb(key: str) -> float:
        value = _first(status, key).split()
        return int(value[0]) / 1024 if value and value[0].isdigit() else float("nan")

    return mb("VmRSS"), mb("VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far (its own threads; not its children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
