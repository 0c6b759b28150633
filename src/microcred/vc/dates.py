"""XML Schema dateTime values as credentials carry them (VC 2.0 section 4.9)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from microcred.i18n import N_
from microcred.vc.errors import VcError
from microcred.vc.message import Message

_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$", re.ASCII
)


def parse_datetime(value: object, field: str) -> datetime:
    """Parse an XSD dateTime; a value without a time zone is read as UTC."""
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise VcError(
            Message(
                N_(
                    "%(field)s is not an XML Schema dateTime (for example 2026-01-31T09:00:00Z): "
                    "%(value)s"
                ),
                field=field,
                value=repr(value),
            ),
            "validity.malformed_date",
        )
    text = value
    match = re.search(r"\.(\d+)", text)
    if match and len(match.group(1)) > 6:  # Python keeps microseconds only
        text = text.replace(match.group(0), "." + match.group(1)[:6])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise VcError(
            Message(N_("%(field)s is not a valid date: %(value)s"), field=field, value=repr(value)),
            "validity.malformed_date",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise VcError(
            Message(
                N_("%(field)s is outside the range of dates: %(value)s"),
                field=field,
                value=repr(value),
            ),
            "validity.malformed_date",
        ) from exc
