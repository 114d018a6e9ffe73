"""Dates as people read them: "11 Feb 2024, 12:00", not "2024-02-11T12:00:00" (the catalog's form)."""

from __future__ import annotations

import datetime as _dt

# English like the rest of the interface, and the same on every machine (strftime's %b follows the C locale)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human_datetime(moment: _dt.datetime, *, with_time: bool = True) -> str:
    """"11 Feb 2024, 12:00" (or "11 Feb 2024" without the time)."""
    day = f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"
    return f"{day}, {moment:%H:%M}" if with_time else day


def human_date(value: str | None) -> str | None:
    """A catalog date ("2024-02-11T12:00:00", or a date alone) as people read it; None for none; a text that is not
    a date comes back as it is (shown rather than lost)."""
    if not value:
        return None
    text = str(value).strip()
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return human_datetime(moment, with_time=len(text) > 10)


def human_timestamp(seconds: float) -> str:
    """A Unix time (when a photo was indexed) in local time, as people read it."""
    return human_datetime(_dt.datetime.fromtimestamp(seconds))
