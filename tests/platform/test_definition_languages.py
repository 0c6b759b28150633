"""A micro-credential in several languages: its title, description and outcomes given in
French and German; credentials name each language's version the Open Badges 3.0 way
(``inLanguage``, ``related``) and still verify and validate against the published 1EdTech
schema; each related achievement resolves, in its language; pages and certificates show the
reader's language."""

from __future__ import annotations

import io
import json

import pypdf
from jsonschema import Draft201909Validator

from microcred.db.session import transaction
from microcred.db.tables import Definition, Provider
from microcred.render.certificate import certificate_pdf
from microcred.services import catalogue, definitions
from microcred.services.verification import verify_for_platform
from tests.platform.conftest import DEFINITION, csrf_from, issue_to, make_org, signin
from tests.platform.test_published_schema import published_schema


def _draft(platform, org) -> Definition:
    with transaction(platform.sessions) as session:
        provider = session.get(Provider, org.provider_id)
        row = definitions.create(platform, session, provider, DEFINITION)
        session.flush()
        session.expunge(row)
        return row


def test_a_definition_in_three_languages(platform, wired) -> None:
    org = make_org(platform, "acme")
    draft = _draft(platform, org)
    first, second = (o["id"] for o in draft.data["learning_outcomes"])
    token = signin(wired, org.owner_email)
    form = wired.get(f"/definitions/{draft.id}/translations").text
    assert f'name="t_fr_statement_{first}"' in form
    assert 'name="t_en_title"' not in form

    # words without a title: refused, nothing saved, what was typed kept
    refused = wired.post(
        f"/definitions/{draft.id}/translations",
        data={"csrf_token": token, f"t_de_statement_{first}": "Erkennt Gefahren beim Schweißen"},
    )
    assert refused.status_code == 422
    assert 'href="#t_de_title"' in refused.text
    assert "Erkennt Gefahren beim Schweißen" in refused.text
    saved = wired.post(
        f"/definitions/{draft.id}/translations",
        data={
            "csrf_token": token,
            "t_fr_title": "Sécurité en soudage",
            "t_fr_description": "Pratique sûre dans un atelier de soudage.",
            f"t_fr_statement_{first}": "Identifie les dangers du soudage",
            f"t_fr_criterion_{first}": "Liste de contrôle des dangers, 10 sur 10",
            f"t_fr_statement_{second}": "Utilise correctement les équipements de protection",
            "t_de_title": "Sicherheit beim Schweißen",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    # editing the definition keeps its languages
    page = wired.get(f"/definitions/{draft.id}/edit").text
    edited = wired.post(
        f"/definitions/{draft.id}",
        data={**_form_of(page), "csrf_token": csrf_from(page), "title": "Welding Safety"},
        follow_redirects=False,
    )
    assert edited.status_code == 303, edited.text[:500]
    publish = wired.post(f"/definitions/{draft.id}/publish", data={"csrf_token": token})
    assert publish.status_code == 200
    with transaction(platform.sessions, readonly=True) as session:
        row = session.get(Definition, draft.id)
        assert sorted(row.data["translations"]) == ["de", "fr"]
        session.expunge(row)

    credential = issue_to(platform, org, row)
    document = json.loads(credential.document)
    achievement = document["credentialSubject"]["achievement"]
    base = achievement["id"]
    assert achievement["inLanguage"] == "en"
    assert achievement["related"] == [
        {"id": f"{base}/de", "type": ["Related"], "inLanguage": "de", "version": "1"},
        {"id": f"{base}/fr", "type": ["Related"], "inLanguage": "fr", "version": "1"},
    ]
    assert list(Draft201909Validator(published_schema()).iter_errors(document)) == []
    assert verify_for_platform(platform, credential.document).report.verified

    # each related achievement resolves, in its language, naming the others
    french = wired.get(f"{base}/fr", headers={"Accept": "application/ld+json"}).json()
    assert french["id"] == f"{base}/fr"
    assert french["name"] == "Sécurité en soudage"
    assert french["inLanguage"] == "fr"
    assert french["resultDescription"][0]["name"] == "Identifie les dangers du soudage"
    assert (
        french["resultDescription"][1]["name"]
        == "Utilise correctement les équipements de protection"
    )
    assert {r["inLanguage"]: r["id"] for r in french["related"]} == {"en": base, "de": f"{base}/de"}
    assert wired.get(f"{base}/it").status_code == 404  # not given in Italian

    # the public page in the reader's language; the certificate too
    public = f"/credentials/{credential.id}"
    assert "Sécurité en soudage" in wired.get(public, headers={"Accept-Language": "fr"}).text
    english = wired.get(public, headers={"Accept-Language": "en"}).text
    assert "Welding Safety" in english
    assert "Sécurité" not in english
    with transaction(platform.sessions, readonly=True) as session:
        shown = catalogue.in_language(platform, session, document, "fr")
        assert catalogue.in_language(platform, session, document, "it") == {}
    pdf = certificate_pdf(
        credential.document, "https://x.example/verify", language="fr", shown=shown
    )
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Sécurité en soudage" in text
    assert "Identifie les dangers du soudage" in text


def _form_of(page: str) -> dict[str, list[str] | str]:
    """The fields of the edit form as the browser would send them (inputs and selections)."""
    import re

    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input name="([a-z_]+)"[^>]*?value="([^"]*)"', page):
        fields.setdefault(name, []).append(value)
    for name, value in re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page):
        if name != "csrf_token":
            fields.setdefault(name, []).append(value)
    for name, value in re.findall(
        r'<select name="([a-z_]+)"[^>]*>.*?<option value="([^"]*)" selected', page, re.S
    ):
        fields[name] = [value]
    import html

    return {k: [html.unescape(v) for v in vs] for k, vs in fields.items()}
