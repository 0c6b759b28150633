"""Translations: every user-facing string goes through ``_()`` (gettext), in Python and templates.

The language is per request (or per email): a context variable set by ``web/language.py`` from the
reader's choice (a cookie) or the browser's ``Accept-Language``, and by ``use_language`` around
work done for someone else. Catalogues are ``locale/<lang>/LC_MESSAGES/messages.po``, read once per
process (package data, not state); ``make messages`` extracts and merges them, and
``tests/test_translations.py`` fails on a message left untranslated.

Strings defined at import time are marked with ``N_()`` and translated where they are shown
(``_(value)`` in Python, ``{{ _(value) }}`` in templates).
"""

from __future__ import annotations

import contextlib
import gettext
import io
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
# the reader's choice, each named in its own language
LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "Français",
    "de": "Deutsch",
    "es": "Español",
    "it": "Italiano",
}

_language: ContextVar[str] = ContextVar("microcred_language", default=DEFAULT)


@cache
def catalogue(language: str) -> gettext.NullTranslations:
    """The compiled messages of one language (English: the source strings themselves)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        parsed = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, parsed)  # fuzzy entries left out: they fall back to English
    compiled.seek(0)
    return Translations(fp=compiled, domain="messages")


def current() -> str:
    """The language of what is being written now (``en``, ``fr``, ...)."""
    return _language.get()


def set_language(language: str) -> None:
    """For the rest of this request or task (the request's own context)."""
    _language.set(language if language in LANGUAGES else DEFAULT)


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[None]:
    """Within the block, messages are in ``language`` (an email to its reader, a test)."""
    token = _language.set(language if language in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _language.reset(token)


def _(message: str) -> str:
    if not message:  # gettext("") is the catalogue's header
        return message
    return catalogue(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalogue(_language.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Marks a string for extraction; it is translated where it is shown."""
    return message


class _Current(gettext.NullTranslations):
    """What Jinja2's i18n extension calls: the messages of the current language each time."""

    def gettext(self, message: str) -> str:
        return _(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return ngettext(msgid1, msgid2, n)


_CURRENT = _Current()


def translations() -> gettext.NullTranslations:
    """The translations for Jinja2's i18n extension (they follow the current language)."""
    return _CURRENT


@cache
def known_messages() -> frozenset[str]:
    """Every message the sources mark (``locale/messages.pot``): what a template may show as
    written, markup included. Anything else passed to ``_()`` in a template is data."""
    path = LOCALE_DIR / "messages.pot"
    if not path.is_file():
        return frozenset()
    with path.open("rb") as pot:
        return frozenset(m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot) if m.id)


@pass_context
def _template_gettext(context: Context, message: str, **variables: Any) -> str:
    """``{{ _("…", name=value) }}``: a marked message translated, its values escaped into it (as
    Jinja's newstyle gettext). A value that is not a marked message (``{{ _(reason) }}`` where
    the reason came with a learner's data) is shown as text: escaped, never formatted."""
    autoescape = context.eval_ctx.autoescape
    if message not in known_messages():
        return escape(message) if autoescape else message
    translated = _(message)
    try:
        if autoescape:
            return Markup(translated) % variables  # noqa: S704 - a message the sources wrote
        return translated % variables
    except (KeyError, ValueError, TypeError):  # data equal to a message, without its values
        return escape(translated) if autoescape else translated


@pass_context
def _template_ngettext(
    context: Context, singular: str, plural: str, num: int, **variables: Any
) -> str:
    variables.setdefault("num", num)
    translated = ngettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        return Markup(translated) % variables  # noqa: S704 - a message the sources wrote
    return translated % variables


def install(environment: Environment) -> None:
    """Jinja2's i18n extension with :func:`_template_gettext` (an environment's ``_``,
    ``gettext`` and ``ngettext``), for pages, emails and the certificate alike."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_template_gettext, ngettext=_template_ngettext, newstyle=False
    )


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header (``en`` if none fits)."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT


def format_date(value: date | datetime | str | None, form: str = "medium") -> str:
    """``3 Dec 2026`` / ``3 déc. 2026`` / ``03.12.2026``: a date in the current language (an
    ISO text is read first; text that is not a date is shown as it is)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed: date = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        parsed = value
    day = parsed.date() if isinstance(parsed, datetime) else parsed
    return dates.format_date(day, format=form, locale=_language.get())


def format_datetime(value: datetime | None, form: str = "medium") -> str:
    """A moment in the current language, in UTC (as everything on the platform is)."""
    if value is None:
        return ""
    return dates.format_datetime(value, format=form, tzinfo=dates.UTC, locale=_language.get())


def format_number(value: float | int | None) -> str:
    """``1,234.5`` / ``1 234,5`` / ``1.234,5``: a number in the current language."""
    if value is None:
        return ""
    return numbers.format_decimal(value, locale=_language.get())


def language_name(language: str) -> str:
    """A language's name in the current language (``Französisch`` for ``fr`` in German)."""
    return Locale.parse(language).get_display_name(_language.get()) or language
