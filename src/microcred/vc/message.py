"""Messages for people, written once in English and shown later in the reader's language.

A verification report is made once and read many times: stored (kept verdicts, the memo of
``/api/verify`` answers), answered as JSON (a machine interface: its ``message`` and ``headline``
stay English, byte for byte) and shown to people on pages, in their language. A :class:`Message`
is the English text, and *is* a ``str`` (whatever reads messages, compares or logs them keeps
working), that also remembers the gettext template it was filled from and the values it was filled
with, so that :meth:`Message.text` can fill the translated template for whoever reads it:

    Message(N_("expired on %(date)s"), date="2026-01-31 09:00 UTC")

The template is marked with ``N_`` where it is written (for extraction) and translated only when
shown. Parameter values are never translated: strings and numbers (names, URLs, dates, codes),
other messages (translated in turn), or lists of these (joined with ``"; "``). A string operation
on a message (concatenation, slicing) gives plain English text: compose with templates instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from microcred.i18n import _

SEPARATOR = "; "  # between the items of a list parameter, in every language
_JOINED = "%(items)s"  # glue, not a sentence: never extracted, never translated


class Message(str):
    """English text that can be rendered again in the current language (:meth:`text`)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Message:
        params = {name: _kept(value) for name, value in params.items()}
        english = template % _filled(params, translate=False) if params else template
        self = super().__new__(cls, english)
        self.template = template
        self.params = params
        return self

    @classmethod
    def joined(cls, items: Iterable[str]) -> Message:
        """``items`` (messages or plain text) joined with ``"; "``, each translated in turn."""
        return cls(_JOINED, items=list(items))

    def text(self) -> str:
        """The message in the current language (English where no translation is known)."""
        translated = _(self.template)
        if not self.params:
            return translated
        try:
            return translated % _filled(self.params, translate=True)
        except (KeyError, ValueError, TypeError):  # a catalogue that broke a placeholder
            return str(self)

    def to_json(self) -> dict[str, Any]:
        """``{"template": ..., "params": {...}}``, nested messages in the same form."""
        data: dict[str, Any] = {"template": self.template}
        if self.params:
            data["params"] = {name: _encode(value) for name, value in self.params.items()}
        return data

    @classmethod
    def from_json(cls, template: str, params: Mapping[str, Any] | None = None) -> Message:
        """The message :meth:`to_json` wrote (its English is filled again from the template)."""
        return cls(template, **{name: _decode(value) for name, value in (params or {}).items()})


def text(message: str) -> str:
    """``message`` in the current language when it is a :class:`Message`; else as it is."""
    return message.text() if isinstance(message, Message) else message


def plain(message: str) -> str:
    """The English text as a plain ``str`` (for data that is stored or compared by type)."""
    return str.__str__(message)


def _kept(value: Any) -> Any:
    """What a parameter keeps: anything but text, numbers, messages and lists of them becomes
    its text (what ``%(name)s`` writes), so that parameters stay plain JSON."""
    if isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    if isinstance(value, list | tuple):
        return [_kept(item) for item in value]
    return str(value)


def _filled(params: Mapping[str, Any], *, translate: bool) -> dict[str, Any]:
    return {name: _value(value, translate) for name, value in params.items()}


def _value(value: Any, translate: bool) -> Any:
    if isinstance(value, Message):
        return value.text() if translate else plain(value)
    if isinstance(value, list | tuple):
        return SEPARATOR.join(str(_value(item, translate)) for item in value)
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, str):
        return plain(value)
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, Mapping) and isinstance(value.get("template"), str):
        return Message.from_json(value["template"], value.get("params"))
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value
