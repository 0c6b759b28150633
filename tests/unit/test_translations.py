"""Every message in every language: the catalogue template is what the sources mark (``make
messages`` after adding one), and French, German, Spanish and Italian translate each message,
with the same placeholders, none left fuzzy, empty or equal to its English source except the few
words that are the same in that language (below, with the reason)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from microcred.i18n import LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [code for code in LANGUAGES if code != "en"]

# Proper nouns, codes and words spelt the same in the language (checked by a speaker of it).
SAME_EVERYWHERE = {
    "microcred",
    "Open Badges 3.0",
    "ECTS",
    "EQF",
    "JSON",
    "CSV",
    "PDF",
    "PNG",
    "SVG",
    "DID",
    "did:web",
    "URL",
    "API",
    "OK",
    "ID",
    "Europass",
    "CLR 2.0",
    "JSON-LD",
    "ELM 3",
    "%(num)d",
    "SMTP",
    "QR",
    "HTTP",
    "Email",
    "E-mail",
}
SAME_IN: dict[str, set[str]] = {
    "fr": {"%(provider)s via %(platform)s", "Action", "active", "Badge", "Badge (PNG)",
        "Badge (SVG)", "Catalogue", "Contact", "Description", "Format", "Pages", "Participation",
        "Score", "Signature", "Supervision", "version", "Version", "Version %(n)s", "Versions"},
    "de": {"Badge", "Badge (PNG)", "Badge (SVG)", "Domain", "Element", "Format", "Hash", "Name",
        "Online", "Problem", "Region", "Region (optional)", "Status", "Version", "Version %(n)s",
        "Website", "Website (https://…)"},
    "es": {"Hash", "id", "no", "provisional"},
    "it": {"Badge", "Badge (PNG)", "Badge (SVG)", "email", "Email",
        "Europass (European Learning Model)", "file", "File", "File: %(name)s", "Hash", "id",
        "link", "no", "Online", "Password", "RPL"},
}  # fmt: skip


_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%")


def _has_words(message: str) -> bool:
    """Whether anything is left to translate once placeholders, codes and units are removed."""
    rest = _PLACEHOLDER.sub(" ", message)
    for same in SAME_EVERYWHERE | {"UTC", "h"}:
        rest = re.sub(rf"(?<!\w){re.escape(same)}(?!\w)", " ", rest)
    return any(c.isalpha() for c in rest)


def _extracted(folder: Path) -> set[str]:
    """What the sources mark now (the same extraction as ``make messages``)."""
    pybabel = Path(sys.executable).parent / "pybabel"
    pot = folder / "messages.pot"
    subprocess.run(
        [
            str(pybabel),
            "extract",
            "-F",
            "babel.cfg",
            "--no-location",
            "--omit-header",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    with pot.open("rb") as extracted:
        return _ids(read_po(extracted))


def _ids(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def _catalogue(language: str) -> Catalog:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module")
def template() -> Catalog:
    with (LOCALE_DIR / "messages.pot").open("rb") as pot:
        return read_po(pot)


def test_the_template_holds_what_the_sources_mark(template: Catalog, tmp_path: Path) -> None:
    marked, kept = _extracted(tmp_path), _ids(template)
    assert not marked - kept, (
        f"new messages: run `make messages` and translate {sorted(marked - kept)[:10]}"
    )
    assert not kept - marked, (
        f"messages no longer used: run `make messages` {sorted(kept - marked)[:10]}"
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(template: Catalog, language: str) -> None:
    catalog = _catalogue(language)
    same = SAME_EVERYWHERE | SAME_IN[language]
    missing, fuzzy, untranslated = [], [], []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        key = message.id if isinstance(message.id, str) else message.id[0]
        if found is None:
            missing.append(key)
            continue
        if found.fuzzy:
            fuzzy.append(key)
        strings = found.string if isinstance(found.string, tuple) else (found.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if not all(strings) or (strings[0] == ids[0] and ids[0] not in same and _has_words(ids[0])):
            untranslated.append(key)
    assert not missing, f"{language}: {len(missing)} missing, e.g. {missing[:5]}"
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"
    assert not untranslated, (
        f"{language}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    """``%(date)s`` in English is ``%(date)s`` in the translation (else a KeyError at run time)."""
    problems = [
        f"{message.id!r}: {'; '.join(str(e) for e in errors)}"
        for message, errors in _catalogue(language).check()
    ]
    assert not problems, f"{language}: {problems[:5]}"
