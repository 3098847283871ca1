"""Due dates as people say them ("by Friday", "by March 3rd"), and the dates they mean."""

from __future__ import annotations

import datetime as dt
import re

from dateutil import parser as date_parser
from dateutil.relativedelta import FR, MO, SA, SU, TH, TU, WE, relativedelta

_WEEKDAYS = {
    "monday": MO,
    "tuesday": TU,
    "wednesday": WE,
    "thursday": TH,
    "friday": FR,
    "saturday": SA,
    "sunday": SU,
}
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
#: A deadline phrase: the preposition, then a weekday, a relative day or a calendar date.
DUE_PHRASE = re.compile(
    r"\b(?:by|before|on|until|due)\s+(?:the\s+)?(?:"
    r"(?:next\s+|this\s+)?(?:" + "|".join(_WEEKDAYS) + r")"
    r"|tomorrow|today|tonight|end of (?:the )?(?:day|week|month)"
    r"|(?:" + _MONTHS + r")\.?\s+" + _DAY + r"|" + _DAY + r"(?:\s+of\s+(?:" + _MONTHS + r"))?"
    r"|next week|next month)\b",
    re.IGNORECASE,
)


def find_due(text: str) -> str:
    """The deadline phrase of `text` exactly as spoken, or ""."""
    match = DUE_PHRASE.search(text)
    return match.group(0) if match else ""


def resolve_due(spoken: str, meeting_day: dt.date) -> dt.date | None:
    """The date a deadline phrase means for a meeting held on `meeting_day`, if it names one."""
    phrase = spoken.lower()
    phrase = re.sub(r"^(?:by|before|on|until|due)\s+(?:the\s+)?", "", phrase).strip()
    if phrase in ("today", "tonight", "end of day", "end of the day"):
        return meeting_day
    if phrase == "tomorrow":
        return meeting_day + dt.timedelta(days=1)
    if phrase in ("end of week", "end of the week"):
        return meeting_day + relativedelta(weekday=FR)
    if phrase == "next week":
        return meeting_day + relativedelta(weeks=1, weekday=MO(-1))
    if phrase in ("end of month", "end of the month", "next month"):
        if phrase == "next month":
            return meeting_day + relativedelta(months=1, day=1)
        return meeting_day + relativedelta(day=31)
    weekday = re.fullmatch(r"(next\s+|this\s+)?(\w+)", phrase)
    if weekday and weekday.group(2) in _WEEKDAYS:
        # "Friday" is the coming one (a week on if the meeting is on a Friday); "next Friday"
        # is the one in the following week, as most speakers mean it.
        day = _WEEKDAYS[weekday.group(2)]
        start = meeting_day + dt.timedelta(days=1)
        if (weekday.group(1) or "").strip() == "next":
            start = meeting_day + relativedelta(weeks=1, weekday=MO(-1))
        return start + relativedelta(weekday=day)
    try:
        day_only = re.fullmatch(_DAY, phrase)
        default = dt.datetime.combine(meeting_day, dt.time())
        parsed = date_parser.parse(phrase, default=default, fuzzy=True).date()
    except (ValueError, OverflowError):
        return None
    if parsed < meeting_day:  # "the 3rd" after the 3rd, "March 3rd" in April: the next one
        parsed += relativedelta(months=1) if day_only else relativedelta(years=1)
    return parsed
