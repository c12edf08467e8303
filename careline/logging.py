"""Structured JSON logs with personal data redacted before anything is written."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"\+?\d[\d\s().-]{6,}\d"), "<number>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<date>"),
    (re.compile(r"(?i)\b(bearer)\s+[\w.-]+"), r"\1 <token>"),
    (re.compile(r"(?i)(password|secret|token)=\S+"), r"\1=<redacted>"),
)


def redact(text: str) -> str:
    """Mask e-mails, phone-like numbers, dates and credentials; logs never carry them."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields passed as `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: redact(v) if isinstance(v, str) else v for k, v in fields.items()})
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


NOISY_LIBRARIES = ("bm25s", "chromadb", "httpx", "httpcore", "faster_whisper", "piper")


def configure_logging(level: str = "INFO") -> None:
    """Route every logger (uvicorn's too) through the JSON formatter on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    for name in NOISY_LIBRARIES:  # they set DEBUG on themselves; follow the configured level instead
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))
