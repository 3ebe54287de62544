"""Logging: readable lines in a terminal, JSON lines elsewhere, each tagged with its request id."""

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

# Attributes every LogRecord has; anything else was passed through `extra=`. uvicorn passes
# `color_message`, a copy of the message with terminal colours.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}

TEXT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"

LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}

# The id of the request being served, if any (see request_id()).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# Accept a caller's id only when it is short and cannot break a log line.
_REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,128}")


def parse_level(level: str | int) -> int:
    """Turn "debug", " INFO " or logging.INFO into a logging level, or raise ValueError."""
    if isinstance(level, int):
        return level
    value = LEVELS.get(level.strip().upper())
    if value is None:
        msg = f"unknown log level {level!r}: use {', '.join(LEVELS)}"
        raise ValueError(msg)
    return value


@contextmanager
def request_id(offered: str = "") -> Iterator[str]:
    """Tag what is logged inside with a request id: `offered` when it is safe, else a new one."""
    value = offered if _REQUEST_ID_PATTERN.fullmatch(offered) else uuid.uuid4().hex
    token = REQUEST_ID.set(value)
    try:
        yield value
    finally:
        REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    """Add the current request's id to records logged while serving it, as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag the record; never drop it."""
        current = REQUEST_ID.get()
        if current is not None:
            record.request_id = current
        return True


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    """Return the fields a record got through `extra=` or a filter, such as `request_id`."""
    return {key: value for key, value in vars(record).items() if key not in _RECORD_FIELDS}


class TextFormatter(logging.Formatter):
    """Readable lines: time, level, logger and message, then the extra fields as key=value."""

    def __init__(self) -> None:
        """Format with TEXT_FORMAT."""
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 # logging's name
        """Return the line before any traceback, with the extra fields at its end."""
        fields = " ".join(f"{key}={value}" for key, value in _extra_fields(record).items())
        line = super().formatMessage(record)
        return f"{line} {fields}" if fields else line


class JsonFormatter(logging.Formatter):
    """Format records as JSON objects with a UTC timestamp and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON."""
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_extra_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(
    level: str | int = "INFO", *, json_format: bool | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger's records to `stream` (stderr by default) and return the handler.

    `json_format=None` picks JSON unless the stream is a terminal. Calling it again replaces
    the handler it installed before, so it is safe in tests and reloads.
    """
    target = stream if stream is not None else sys.stderr
    if json_format is None:
        json_format = not target.isatty()
    handler = logging.StreamHandler(target)
    handler.set_name(__name__)
    handler.setFormatter(JsonFormatter() if json_format else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == __name__]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(parse_level(level))
    return handler
