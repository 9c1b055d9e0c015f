"""Dates as policy texts give them: a year, a month or a day (YYYY, YYYY-MM, YYYY-MM-DD), or
"unknown"; a period's first and last day, so that "valid until 2025" means to 31 December.
"""

from __future__ import annotations

import calendar
import datetime
import re

PERIOD = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?|unknown")


def last_day(text: str) -> datetime.date | None:
    """The last day of a YYYY, YYYY-MM or YYYY-MM-DD period; None for 'unknown'."""
    parts = [int(p) for p in text.split("-")] if text != "unknown" else []
    if not parts:
        return None
    year, month = parts[0], parts[1] if len(parts) > 1 else 12
    day = parts[2] if len(parts) > 2 else calendar.monthrange(year, month)[1]
    return datetime.date(year, month, day)


def first_day(text: str) -> datetime.date | None:
    """The first day of a YYYY, YYYY-MM or YYYY-MM-DD period; None for 'unknown'."""
    parts = [int(p) for p in text.split("-")] if text != "unknown" else []
    if not parts:
        return None
    month, day = [*parts[1:], 1, 1][:2]
    return datetime.date(parts[0], month, day)
