"""Structured (JSON) log lines that always carry the request id."""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from apps.common.request_context import get_request_id


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request (or task) it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = get_request_id() or "-"
        return True


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line, with stable key names for log shippers."""

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        log_record["level"] = log_record.pop("levelname", record.levelname)
        log_record["logger"] = log_record.pop("name", record.name)
        log_record["time"] = log_record.pop("asctime", None) or self.formatTime(record)
        log_record.setdefault("request_id", getattr(record, "request_id", "-"))
