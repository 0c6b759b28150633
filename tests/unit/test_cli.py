"""The CLI contract: keys generate, sign, verify (exit codes, --json, --now), tour."""

from __future__ import annotations

import json
import stat

import pytest
from typer.testing import CliRunner

from microcred.cli import app
from tests.helpers import ISSUED, unsigned

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
    assert result.exit_code == 1
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
