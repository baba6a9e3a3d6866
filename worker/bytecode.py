"""Fresh bytecode for the workflow modules, written once when the worker starts.

The workflow sandbox loads the workflow module anew for every new workflow instance (that is how it
isolates one run's module state from another's). Loading goes through the ordinary import machinery,
so it reads ``__pycache__`` when the ``.pyc`` matches the source, and otherwise compiles the source:
every time, where ``PYTHONDONTWRITEBYTECODE`` is set (as in this project's dev machines and the
image), because nothing writes the result back. A checkout edited after ``make`` installed it is
such a case, and bench phase 1 measured that compile at 12 % of the worker's CPU in a storm of new
incidents (BENCHMARKS.md). ``compileall`` writes the ``.pyc`` files whatever that variable says,
and only for modules whose bytecode is missing or stale.

A read-only install (the image, whose wheel install compiled everything already) is left as it is.
"""

from __future__ import annotations

import compileall
from pathlib import Path

import structlog

import workflows

log = structlog.get_logger(__name__)


def refresh_workflow_bytecode(folder: Path | None = None) -> bool:
    """Compile what is missing or stale in ``folder`` (the workflows package); True when all of it is
    current."""
    folder = folder or Path(workflows.__file__).parent
    try:
        current = bool(compileall.compile_dir(str(folder), quiet=2, maxlevels=2))
    except OSError:  # a read-only or vanished folder: the sandbox compiles per workflow, as before
        current = False
    if not current:
        log.warning("workflow bytecode could not be written: every new workflow compiles its module",
                    folder=str(folder))
    return current


__all__ = ["refresh_workflow_bytecode"]
