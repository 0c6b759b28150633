"""Translations: every user-facing string goes through ``_()`` (gettext), in Python and templates.

No catalogues ship yet, so ``_()`` returns its argument; Babel extraction (``pybabel extract``)
finds the marked strings when translations arrive.
"""

from __future__ import annotations

import gettext

_translations = gettext.NullTranslations()


def _(message: str) -> str:
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)


def translations() -> gettext.NullTranslations:
    """The active translations (for the Jinja2 i18n extension)."""
    return _translations
