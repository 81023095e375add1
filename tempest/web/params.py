"""Query-string arguments, checked the same way on every route (400 naming the argument)."""

from __future__ import annotations

from flask import request

from tempest import names
from tempest.web.errors import bad_request, not_found


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be an integer", name) from exc
    if not low <= value <= high:
        raise bad_request(f"{name} must be between {low} and {high}", name)
    return value


def page_args(config) -> tuple[int, int]:
    """(page, per_page), page counted from 1."""
    per_page = _int_arg("per_page", int(config["PAGE_SIZE"]), 1, int(config["MAX_PAGE_SIZE"]))
    page = _int_arg("page", 1, 1, 10_000_000)
    return page, per_page


def limit_arg(config, name: str = "limit") -> int:
    return _int_arg(name, int(config["PAGE_SIZE"]), 1, int(config["MAX_PAGE_SIZE"]))


def day_arg(name: str, default: str | None = None) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if not names.valid_day(value):
        raise bad_request(f"{name} must be a date YYYY-MM-DD", name)
    return value


def serial_path(serial: str) -> str:
    """A serial from a URL: a bad one is a 400, never a path."""
    if not names.valid_serial(serial):
        raise bad_request("not a valid serial", "serial")
    return serial


def day_path(day: str) -> str:
    if not names.valid_day(day):
        raise bad_request("not a valid date YYYY-MM-DD", "day")
    return day


def channel_path(channel: str) -> str:
    if not names.valid_channel(channel):
        raise not_found("no such channel")
    return channel
