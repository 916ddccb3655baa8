"""Dates and months as files write them: ISO, Excel serials and the stated formats.

A day and month order is never guessed: a value in a form that was not stated is refused,
and `date_readings` says how each known form would read it, for the error message.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

from sop.extract_reader.options import DATE_FORMATS, MONTH_FORMATS

EXCEL_EPOCH = dt.date(1899, 12, 30)
# Excel serial numbers accepted as dates: 1950-01-01 .. 2100-12-31. Wider ranges would
# read plain numbers such as 202401 (a YYYYMM) as a date in the 26th century.
EXCEL_SERIAL_RANGE = (18264, 73415)
# ASCII digits only: Python reads full-width digits as numbers, the database does not.
_MONTH_RE = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?", re.ASCII)
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_SERIAL_RE = re.compile(r"\d{5}(?:\.0+)?", re.ASCII)
_MIDNIGHT = r"(?:[ T]00:00(?::00)?)?"
# A time of day after a date, as ERPs and databases write timestamps: 14:32, 14:32:05.123,
# 2:32 PM, T14:32:05Z, 14:32:05+02:00.
_TIME = (
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?: ?[AaPp][Mm])?"
    r"(?: ?(?:Z|[+-]\d{2}(?::?\d{2})?))?)?"
)
_TOKEN_RE = re.compile(r"yyyy|yy|mm|dd|mon|.")
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


@cache
def _pattern(form: str, with_time: bool) -> re.Pattern:
    """The regular expression of a named form (dd.mm.yyyy): day, month and year groups."""
    compact = not any(mark in form for mark in "./- ")
    digits = r"\d{2}" if compact else r"\d{1,2}"
    parts = []
    for token in _TOKEN_RE.findall(form):
        parts.append(
            {
                "yyyy": r"(?P<year>\d{4})",
                "yy": r"(?P<yy>\d{2})",
                "mm": rf"(?P<month>{digits})",
                "dd": rf"(?P<day>{digits})",
                "mon": r"(?P<mon>[A-Za-z]{3})",
            }.get(token, re.escape(token))
        )
    return re.compile("".join(parts) + (_TIME if with_time else _MIDNIGHT), re.ASCII)


def _read_form(value: str, form: str, with_time: bool) -> dt.date | None:
    match = _pattern(form, with_time).fullmatch(value)
    if match is None:
        return None
    groups = match.groupdict()
    if groups.get("yy") is not None:
        year = int(groups["yy"])
        year += 2000 if year < 69 else 1900
    else:
        year = int(groups["year"])
    if groups.get("mon") is not None:
        name = groups["mon"].lower()
        if name not in MONTH_NAMES:
            return None
        month = MONTH_NAMES.index(name) + 1
    else:
        month = int(groups["month"])
    try:
        return dt.date(year, month, int(groups.get("day") or 1))
    except ValueError:
        return None


def parse_date(value: str, form: str = "", with_time: bool = False) -> str | None:
    """A date as 'YYYY-MM-DD', or None: in the stated form, ISO or an Excel serial."""
    if form:
        day = _read_form(value, form, with_time)
        if day is not None:
            return day.isoformat()
    match = re.fullmatch(_DATE_RE.pattern + (_TIME if with_time else _MIDNIGHT), value, re.ASCII)
    try:
        if match:
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        if _SERIAL_RE.fullmatch(value):
            serial = int(float(value))
            if EXCEL_SERIAL_RANGE[0] <= serial <= EXCEL_SERIAL_RANGE[1]:
                return (EXCEL_EPOCH + dt.timedelta(days=serial)).isoformat()
    except ValueError:
        pass
    return None


def parse_month(
    value: str, form: str = "", date_form: str = "", with_time: bool = False
) -> str | None:
    """A month as the first day of it, 'YYYY-MM-01', or None.

    Read in the stated month form, the stated date form (the day is dropped), or as
    YYYY-MM, YYYY-MM-DD or an Excel serial.
    """
    for stated in (form, date_form):
        if stated:
            day = _read_form(value, stated, with_time)
            if day is not None:
                return day.replace(day=1).isoformat()
    match = re.fullmatch(_MONTH_RE.pattern + (_TIME if with_time else _MIDNIGHT), value, re.ASCII)
    if match:
        year, month, day = match.groups()
        try:
            dt.date(int(year), int(month), int(day or 1))
        except ValueError:
            return None
        return f"{int(year):04d}-{int(month):02d}-01"
    day = parse_date(value, with_time=with_time)
    return None if day is None else day[:8] + "01"


def date_readings(value: str, *, month: bool) -> tuple[dict[str, str], bool]:
    """How each known form reads a value no stated form read: {reading: first form}, and
    whether it needs a time of day dropped to read at all.

    Two readings are a day and month order the file must state (03/04/2026); one says
    which form to state (17.03.2026 is dd.mm.yyyy); none, that it is no date at all.
    """
    forms = (*MONTH_FORMATS, *DATE_FORMATS) if month else DATE_FORMATS
    for with_time in (False, True):
        readings: dict[str, str] = {}
        for form in (*forms, "yyyy-mm-dd") if with_time else forms:
            day = _read_form(value, form, with_time)
            if day is not None:
                readings.setdefault(day.isoformat()[:7] if month else day.isoformat(), form)
        if readings:
            return readings, with_time
    return {}, False
