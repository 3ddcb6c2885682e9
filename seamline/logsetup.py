"""How every service logs: ``logging: {level, format}`` in its config, moved by ``-v``/``-q``, as
text lines or one JSON object per line (for journald/Loki/ELK). Standard library only: the
gateway's pydantic-free runtime uses it too."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class JsonFormatter(logging.Formatter):
    """``{"ts": ISO 8601 UTC, "level", "logger", "msg"[, "exc"]}`` per record, one line each."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def effective_level(config_level: str, *, verbose: int = 0, quiet: int = 0) -> int:
    """The config's level, one step down per ``-v`` and up per ``-q`` (DEBUG..ERROR)."""
    level = LEVELS[config_level] - 10 * verbose + 10 * quiet
    return max(logging.DEBUG, min(logging.ERROR, level))


def configure(level: int, fmt: str = "text") -> None:
    """Replace the root logger's handlers: stderr, ``fmt`` "text" or "json"."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
