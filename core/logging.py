"""structlog setup: JSON lines when not on a terminal, readable console output on one.

Every line a process writes goes through the one handler this installs, whoever logs it: awoooi's
structlog loggers; stdlib loggers (uvicorn, httpx, the Temporal SDK's Python side) as "foreign"
records through the same processors; Python warnings (``logging.captureWarnings``); an uncaught
exception's traceback (``sys.excepthook``, ``threading.excepthook``); and the Temporal SDK core's
own lines, written in Rust, once a runtime forwards them (:func:`sdk_core_logging`). Without that
forwarding the core prints coloured plain text to stderr by itself (its "gRPC call ... retried"
warnings when Temporal does not answer, its "metrics buffer is full" errors), which a log
pipeline expecting JSON cannot parse.

Secrets never reach here: settings hold them as SecretStr and adapters build their own error
messages without URLs or headers.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:  # imported where used: `awoooi analyze` starts without the SDK
    from temporalio.runtime import LoggingConfig

# The stdlib logger the Temporal SDK core's lines arrive on (worker/sdk_metrics.py filters one of them).
SDK_CORE_LOGGER = "temporalio.sdk_core"


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _sdk_core_fields,
    ]
    # A traceback is one string field in JSON (the console renderer draws its own).
    final: list[structlog.typing.Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if use_json:
        final.append(structlog.processors.format_exc_info)
    structlog.configure(
        processors=[*shared[:1], structlog.stdlib.add_logger_name, *shared[1:3],
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[*final, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs full request URLs at INFO, and a Telegram URL carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # warnings.warn(...) (a library's DeprecationWarning, a ResourceWarning) as a log line, not raw text.
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def sdk_core_logging() -> LoggingConfig:
    """The Temporal SDK core's log lines forwarded to the stdlib logger ``temporalio.sdk_core``.

    For every ``temporalio.runtime.Runtime`` awoooi builds (the worker's, and the default one every
    other client uses: starter/cli.py). Same levels as the SDK's default (WARN from the core, ERROR
    from its dependencies). The core's target and its structured fields become the ``target`` and
    ``fields`` keys of the line (:func:`_sdk_core_fields`) rather than text glued to the message.
    """
    from temporalio.runtime import LogForwardingConfig, LoggingConfig, TelemetryFilter

    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(
            logger=logging.getLogger(SDK_CORE_LOGGER),
            append_target_to_name=False,
            prepend_target_on_message=False,
            append_log_fields_to_message=False,
        ),
    )


def forward_sdk_core_logs() -> None:
    """Make the SDK's default runtime (what a client connected without a runtime uses) forward its
    core's lines (:func:`sdk_core_logging`). Call once, in a composition root, before any client."""
    from temporalio.runtime import Runtime, TelemetryConfig

    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=sdk_core_logging())),
                        error_if_already_set=False)


def _sdk_core_fields(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A forwarded core line carries its source as a ``temporal_log`` extra (an SDK object, which
    JSON would only show as its repr): keep its target and fields as plain values."""
    entry = event_dict.pop("temporal_log", None)
    if entry is not None:
        event_dict["target"] = str(getattr(entry, "target", ""))
        fields = getattr(entry, "fields", None)
        if fields:
            event_dict["fields"] = {str(k): v if isinstance(v, int | float | bool | None) else str(v)
                                    for k, v in dict(fields).items()}
    return event_dict


def _log_uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("awoooi").critical("uncaught exception", exc_info=(kind, value, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    logging.getLogger("awoooi").critical(
        "uncaught exception in a thread", exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        extra={"thread_name": getattr(args.thread, "name", None)},
    )
