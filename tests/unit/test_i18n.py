"""Templates' ``_()``: marked messages translated with their values escaped into them; anything
else passed to it (data) shown as escaped text, never formatted (a ``%`` in it is not a crash,
``<script>`` in it is not markup)."""

from __future__ import annotations

import gettext

import jinja2
import pytest

from microcred import i18n


class _French(gettext.NullTranslations):
    def gettext(self, message: str) -> str:
        return {"Verify a credential": "Vérifier une attestation"}.get(message, message)


def _render(source: str, autoescape: bool = True, **values: object) -> str:
    env = jinja2.Environment(autoescape=autoescape)  # noqa: S701 - both, on purpose
    i18n.install(env)
    return env.from_string(source).render(**values)


def test_a_marked_message_is_translated_and_its_values_escaped(monkeypatch) -> None:
    monkeypatch.setattr(i18n, "catalogue", lambda language: _French())
    with i18n.use_language("fr"):
        assert _render('{{ _("Verify a credential") }}') == "Vérifier une attestation"
    page = _render('{{ _("Issuer identifier: %(did)s", did=did) }}', did="<b>did:web:x</b>")
    assert page == "Issuer identifier: &lt;b&gt;did:web:x&lt;/b&gt;"


@pytest.mark.parametrize("data", ["50% of <script>alert(1)</script>", "%(num)d rows", "100%"])
def test_data_passed_to_gettext_is_text(data: str) -> None:
    assert data not in i18n.known_messages()
    page = _render("{{ _(reason) }}", reason=data)
    assert page == str(jinja2.utils.markupsafe.escape(data))
    assert _render("{{ _(reason) }}", autoescape=False, reason=data) == data  # text emails


def test_plurals_know_their_number() -> None:
    shown = _render('{{ ngettext("%(num)d credential", "%(num)d credentials", n) }}', n=3)
    assert shown == "3 credentials"


def test_an_empty_message_stays_empty_in_every_language() -> None:
    for language in i18n.LANGUAGES:
        with i18n.use_language(language):
            assert i18n._("") == ""  # gettext("") would be the catalogue's header


def test_data_equal_to_a_message_with_placeholders_is_text() -> None:
    message = "Issuer identifier: %(did)s"
    assert message in i18n.known_messages()
    assert _render("{{ _(reason) }}", reason=message) == message  # no values: shown as text
