"""The CLI contract: keys generate, sign, verify (exit codes, --json, --now), tour."""

from __future__ import annotations

import json
import stat

import pytest
from typer.testing import CliRunner

from microcred.cli import app
from tests.helpers import ISSUED, ISSUER_KEY, OTHER_KEY, signed, unsigned

runner = CliRunner()


def _invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "key.json"
    result = _invoke("keys", "generate", "--out", str(path))
    assert result.exit_code == 0
    return path, result.stdout.strip()


@pytest.fixture
def unsigned_file(tmp_path):
    document = unsigned()
    del document["issuer"]
    path = tmp_path / "in.json"
    path.write_text(json.dumps(document))
    return path


def test_keys_generate_writes_a_private_file(key_file):
    path, did = key_file
    assert did.startswith("did:key:z6Mk")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["controller"] == did
    again = runner.invoke(app, ["keys", "generate", "--out", str(path)])
    assert again.exit_code == 2
    assert "exists" in again.stderr


def test_sign_then_verify(tmp_path, key_file, unsigned_file):
    key_path, did = key_file
    out = tmp_path / "signed.json"
    result = _invoke("sign", str(unsigned_file), "--key", str(key_path), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    signed = json.loads(out.read_text())
    assert signed["issuer"] == did
    assert signed["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"

    result = _invoke("verify", str(out))
    assert result.exit_code == 0
    assert "VERIFIED" in result.stdout
    assert "Signature: the signature is valid" in result.stdout
    assert "Certifies: Data Protection Essentials" in result.stdout


def test_sign_with_jcs_to_stdout(key_file, unsigned_file):
    key_path, _ = key_file
    result = _invoke(
        "sign", str(unsigned_file), "--key", str(key_path), "--suite", "eddsa-jcs-2022"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["proof"][0]["cryptosuite"] == "eddsa-jcs-2022"


def test_verify_json_lines_and_exit_code(tmp_path, key_file, unsigned_file):
    key_path, _ = key_file
    good = tmp_path / "good.json"
    _invoke("sign", str(unsigned_file), "--key", str(key_path), "--out", str(good))
    bad = tmp_path / "bad.json"
    tampered = json.loads(good.read_text())
    tampered["name"] = "Something else"
    bad.write_text(json.dumps(tampered))

    result = runner.invoke(app, ["verify", "--json", str(good), str(bad)])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["file"], x["verified"]) for x in lines] == [(str(good), True), (str(bad), False)]
    assert {"step", "outcome", "code", "message"} <= set(lines[1]["steps"][0])
    codes = [s["code"] for s in lines[1]["steps"]]
    assert "proof.signature_invalid" in codes

    only_good = runner.invoke(app, ["verify", "--json", str(good)])
    assert only_good.exit_code == 0


def test_verify_now_option(tmp_path, key_file, unsigned_file):
    key_path, _ = key_file
    out = tmp_path / "s.json"
    _invoke("sign", str(unsigned_file), "--key", str(key_path), "--out", str(out))
    before = ISSUED.replace(year=2020).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = runner.invoke(app, ["verify", "--json", "--now", before, str(out)])
    assert result.exit_code == 6  # not yet valid
    assert "validity.not_yet_valid" in result.stdout
    bad = runner.invoke(app, ["verify", "--now", "yesterday", str(out)])
    assert bad.exit_code == 2


def test_encrypted_key_needs_its_passphrase(tmp_path, unsigned_file):
    key_path = tmp_path / "enc.json"
    env = {"MC_PASS": "s3cret passphrase"}
    assert (
        _invoke(
            "keys", "generate", "--out", str(key_path), "--passphrase-env", "MC_PASS", env=env
        ).exit_code
        == 0
    )
    assert "secretKeyMultibase" not in key_path.read_text()
    without = runner.invoke(app, ["sign", str(unsigned_file), "--key", str(key_path)])
    assert without.exit_code == 1
    assert "passphrase" in without.stderr
    with_it = runner.invoke(
        app,
        ["sign", str(unsigned_file), "--key", str(key_path), "--passphrase-env", "MC_PASS"],
        env=env,
    )
    assert with_it.exit_code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{broken", "invalid JSON at line 1"),
        ("[]", "must be a JSON object"),
    ],
)
def test_sign_reports_bad_input(tmp_path, key_file, content, message):
    key_path, _ = key_file
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = runner.invoke(app, ["sign", str(path), "--key", str(key_path)])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_sign_refuses_another_issuer_and_control_characters(tmp_path, key_file):
    key_path, _ = key_file
    document = unsigned(issuer="did:web:someone-else.example")
    path = tmp_path / "other.json"
    path.write_text(json.dumps(document))
    result = runner.invoke(app, ["sign", str(path), "--key", str(key_path)])
    assert result.exit_code == 1
    assert "sign.issuer_mismatch" in result.stderr

    document = unsigned()
    del document["issuer"]
    document["name"] = "bell\x07"
    path.write_text(json.dumps(document))
    result = runner.invoke(app, ["sign", str(path), "--key", str(key_path)])
    assert result.exit_code == 1
    assert "control character at $.name" in result.stderr


def test_missing_file_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["verify", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_tour_runs_end_to_end(tmp_path):
    result = _invoke("tour", "--dir", str(tmp_path))
    assert result.exit_code == 0
    assert "NOT VERIFIED" in result.stdout
    assert "proof.signature_invalid" in result.stdout
    assert (tmp_path / "micro-credential.json").exists()


def test_verify_reads_baked_images_and_consults_a_registry(tmp_path):
    import io

    from PIL import Image

    from microcred.vc import baking
    from tests.helpers import ISSUER_KEY, signed

    text = json.dumps(signed())
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    png = tmp_path / "badge.png"
    png.write_bytes(baking.bake_png(buffer.getvalue(), text))
    svg = tmp_path / "badge.svg"
    svg.write_text(baking.bake_svg('<svg xmlns="http://www.w3.org/2000/svg"/>', text))
    result = runner.invoke(app, ["verify", "--json", str(png), str(svg)])
    assert result.exit_code == 0, result.stdout
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["format"] for x in lines] == ["png", "svg"]
    assert all(x["verified"] for x in lines)

    registry = tmp_path / "registry.json"
    registry.write_text(
        json.dumps(
            {
                "meta": {},
                "registry": {
                    ISSUER_KEY.public.did_key: {
                        "name": "Registered Academy",
                        "url": "https://r.example",
                    }
                },
            }
        )
    )
    result = runner.invoke(app, ["verify", "--json", "--registry", str(registry), str(png)])
    trust = next(s for s in json.loads(result.stdout)["steps"] if s["step"] == "trust")
    assert trust["code"] == "trust.registered"
    assert trust["details"]["registered_name"] == "Registered Academy"
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"meta": {}, "registry": {}}))
    result = runner.invoke(app, ["verify", "--json", "--registry", str(empty), str(png)])
    trust = next(s for s in json.loads(result.stdout)["steps"] if s["step"] == "trust")
    assert trust["code"] == "trust.unregistered"
    assert json.loads(result.stdout)["verified"] is True  # a warning, not a failure
    bad = runner.invoke(app, ["verify", "--registry", str(tmp_path / "missing.json"), str(png)])
    assert bad.exit_code == 2


LIST_URL = "https://issuer.example/status/1"


@pytest.fixture
def served(monkeypatch):
    """Status lists the CLI's safe fetcher reads: a revocation list with bit 7 set and a
    suspension list with bit 8 set, signed by the issuer; anything else is unreachable."""
    from microcred.vc.fetch import FetchError, SafeFetcher
    from microcred.vc.status_list import encode, list_credential

    lists = {
        f"{LIST_URL}/{purpose}": json.dumps(
            signed(
                list_credential(
                    f"{LIST_URL}/{purpose}",
                    ISSUER_KEY.public.did_key,
                    purpose,
                    encode({bit}),
                    "2026-05-01T00:00:00Z",
                )
            )
        ).encode()
        for purpose, bit in (("revocation", 7), ("suspension", 8))
    }
    seasonal = list_credential(
        f"{LIST_URL}/summer",
        ISSUER_KEY.public.did_key,
        "revocation",
        encode(()),
        "2026-05-01T00:00:00Z",
    )
    seasonal["validUntil"] = "2026-07-01T00:00:00Z"  # a list valid at --now, expired today
    lists[f"{LIST_URL}/summer"] = json.dumps(signed(seasonal)).encode()

    def fetch(self, url):
        if url not in lists:
            raise FetchError(f"{url} is unreachable", "fetch.failed")
        return lists[url]

    monkeypatch.setattr(SafeFetcher, "fetch", fetch)


def _file(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(json.dumps(document) if isinstance(document, dict) else document)
    return str(path)


def _with(index=None, purpose="revocation", list_url=None, **fields):
    """A signed plain VC 2.0 credential (no EU elements to warn about), with a status entry."""
    from microcred.vc.loader import VC_V2
    from microcred.vc.status_list import entry

    document = {
        "@context": [VC_V2],
        "type": ["VerifiableCredential"],
        "issuer": ISSUER_KEY.public.did_key,
        "validFrom": "2026-05-01T09:30:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }
    if index is not None:
        url = list_url or f"{LIST_URL}/{purpose}"
        document["credentialStatus"] = entry(url, index, purpose)
    document.update(fields)
    return signed(document)


def _tampered():
    document = _with()
    document["validFrom"] = "2026-01-01T00:00:00Z"
    return document


NOW_ARG = ("--now", "2026-06-01T12:00:00Z")


@pytest.mark.parametrize(
    ("document", "args", "verdict", "code"),
    [
        (_with(1), (), "verified", 0),
        (signed(), (), "verified_with_warnings", 0),  # an OB credential missing EU elements
        (_with(), ("--registry", "EMPTY"), "verified_with_warnings", 0),
        (_tampered(), (), "invalid", 1),
        (_with(7), (), "revoked", 3),
        (_with(8, "suspension"), (), "suspended", 4),
        (_with(validUntil="2026-05-20T00:00:00Z"), (), "expired", 5),
        (_with(), ("--now", "2020-01-01T00:00:00Z"), "not_yet_valid", 6),
        (_with(1, list_url="https://gone.example/status"), (), "status_unchecked", 7),
        (_with(7), ("--skip-status",), "status_unchecked", 7),
        (_with(1, list_url=f"{LIST_URL}/summer"), (), "verified", 0),  # --now holds for lists
        (
            _with(1, list_url=f"{LIST_URL}/summer"),
            ("--now", "2026-08-01T00:00:00Z"),
            "status_unchecked",
            7,
        ),
    ],
)
def test_verify_exits_with_a_code_per_verdict(tmp_path, served, document, args, verdict, code):
    empty = _file(tmp_path, "registry.json", json.dumps({"meta": {}, "registry": {}}))
    args = tuple(empty if a == "EMPTY" else a for a in args)
    path = _file(tmp_path, "c.json", document)
    options = args if "--now" in args else (*NOW_ARG, *args)
    result = runner.invoke(app, ["verify", "--json", *options, path])
    assert json.loads(result.stdout)["verdict"] == verdict, result.stdout
    assert result.exit_code == code


def test_a_batch_exits_with_the_worst_verdict_and_prints_every_file(tmp_path, served, monkeypatch):
    from microcred.services import verification

    def crash_on(document, policy):  # a bug on one file must not hide the others
        if "crash" in str(document):
            raise AttributeError("boom")
        return real(document, policy)

    real = verification.verify
    monkeypatch.setattr(verification, "verify", crash_on)
    files = [
        _file(tmp_path, "good.json", _with()),
        _file(tmp_path, "expired.json", _with(validUntil="2026-05-20T00:00:00Z")),
        _file(tmp_path, "broken.json", "{broken"),
        _file(tmp_path, "crash.json", _with(name="crash")),
        _file(tmp_path, "revoked.json", _with(7)),
    ]
    result = runner.invoke(app, ["verify", "--json", *NOW_ARG, *files])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["verdict"] for x in lines] == ["verified", "expired", "invalid", "invalid", "revoked"]
    assert lines[2]["steps"][0]["code"] == "json.invalid"
    assert lines[3]["steps"][0]["code"] == "internal.error"
    assert result.exit_code == 1  # invalid outranks revoked, which outranks expired
    result = runner.invoke(app, ["verify", *NOW_ARG, files[0], files[1], files[4]])
    assert result.exit_code == 3
    without_revoked = runner.invoke(app, ["verify", *NOW_ARG, files[0], files[1]])
    assert without_revoked.exit_code == 5
    assert "NOT VERIFIED: EXPIRED" in without_revoked.stdout


def test_verify_reads_presentations_with_challenge_and_domain(tmp_path, served):
    from microcred.vc.presentation import sign_presentation

    def presented(*indexes):
        about_holder = {"credentialSubject": {"id": OTHER_KEY.public.did_key}}
        credentials = [_with(i, **about_holder) for i in indexes]
        vp = sign_presentation(
            credentials, OTHER_KEY, challenge="c-1", domain="v.example", created=ISSUED
        )
        return _file(tmp_path, "vp.json", vp)

    args = ["verify", "--json", *NOW_ARG, "--domain", "v.example", presented(1, 7)]
    result = runner.invoke(app, [*args, "--challenge", "c-1"])
    found = json.loads(result.stdout)
    assert (found["kind"], found["presentation"]["verdict"]) == ("presentation", "verified")
    assert [c["verdict"] for c in found["credentials"]] == ["verified", "revoked"]
    assert (found["verdict"], result.exit_code) == ("revoked", 3)

    wrong = runner.invoke(app, [*args, "--challenge", "another"])
    found = json.loads(wrong.stdout)
    assert "proof.challenge_mismatch" in [s["code"] for s in found["presentation"]["steps"]]
    assert (found["verdict"], wrong.exit_code) == ("invalid", 1)

    result = runner.invoke(app, ["verify", *NOW_ARG, "--challenge", "c-1", presented(1)])
    assert result.exit_code == 0, result.stdout
    assert "presentation, VERIFIED" in result.stdout


def test_verify_reads_pdf_certificates_and_svgs_with_a_doctype(tmp_path):
    from microcred.render.certificate import certificate_pdf
    from microcred.vc import baking

    text = json.dumps(_with())
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(certificate_pdf(text, "https://verify.example/verify"))
    svg = tmp_path / "badge.svg"
    svg.write_text(
        baking.bake_svg(
            '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
            '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
            '<svg xmlns="http://www.w3.org/2000/svg"/>',
            text,
        )
    )
    result = runner.invoke(app, ["verify", "--json", *NOW_ARG, str(pdf), str(svg)])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["format"], x["verdict"]) for x in lines] == [
        ("pdf", "verified"),
        ("svg", "verified"),
    ]
    assert result.exit_code == 0


@pytest.mark.parametrize(
    "secret",
    [
        "a",
        "test",
        "a-secret-key-for-production-tests",
        "x" * 64,
        "abababababababababababababababababababababab",
    ],
)
def test_production_refuses_a_weak_secret_key_and_says_how_to_make_one(tmp_path, secret):
    from microcred.config import ConfigError, load_settings

    env = {
        "MICROCRED_ENV": "production",
        "MICROCRED_DATA_DIR": str(tmp_path),
        "MICROCRED_BASE_URL": "https://credentials.example.org",
        "MICROCRED_KEK": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "MICROCRED_SECRET_KEY": secret,
        "MICROCRED_SMTP_URL": "smtps://mail.example.org",
    }
    with pytest.raises(ConfigError, match="at least 32 random bytes") as caught:
        load_settings(env)
    assert "secrets.token_urlsafe" in str(caught.value)
    strong = {**env, "MICROCRED_SECRET_KEY": "kX3v9Qm2ZpL7wR4tY8nB1cD6fG0hJ5sA-_eUoIiPqWzx"}
    assert load_settings(strong).production
