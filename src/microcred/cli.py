"""The ``microcred`` command line: keys, sign, verify, tour.

A stable contract for scripts: exit 0 on success, 2 on a usage problem (a missing file, say);
``verify`` exits with a code per verdict (``EXIT_CODES``, docs/cli.md).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from microcred.i18n import _
from microcred.vc.credential import sign_credential
from microcred.vc.dates import parse_datetime
from microcred.vc.errors import VcError
from microcred.vc.jsonsafe import DEFAULT_MAX_BYTES, parse_json
from microcred.vc.keyfile import export_key, import_key
from microcred.vc.multikey import KeyPair
from microcred.vc.policy import Policy
from microcred.vc.proofs import EDDSA_RDFC_2022, SIGNING_SUITES
from microcred.vc.report import Outcome, Verdict, VerificationReport, worst

app = typer.Typer(
    help="microcred: issue and verify Open Badges 3.0 micro-credentials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
status_app = typer.Typer(help="Status lists.", no_args_is_help=True)
app.add_typer(status_app, name="status")

out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

STEP_TITLES = {
    "parse": "File",
    "presentation": "Presentation",
    "context": "Vocabulary",
    "credential": "Credential",
    "schema": "Open Badges schema",
    "proof": "Signature",
    "issuer": "Issuer's key",
    "validity": "Validity period",
    "status": "Revocation status",
    "internal": "Verifier",
    "trust": "Issuer trust",
    "eu_elements": "EU elements",
}
MARKS = {
    Outcome.PASSED: "[green]✔[/green]",
    Outcome.FAILED: "[red]✘[/red]",
    Outcome.WARNING: "[yellow]![/yellow]",
    Outcome.UNCHECKED: "[yellow]?[/yellow]",
    Outcome.SKIPPED: "[dim]–[/dim]",
    Outcome.NOT_CHECKED: "[dim]·[/dim]",
}


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def _passphrase(env_name: str | None) -> str | None:
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if not value:
        raise _fail(f"environment variable {env_name} is empty or not set", 2)
    return value


def _read_json(path: Path, what: str) -> Any:
    try:
        with path.open("rb") as handle:
            data = handle.read(DEFAULT_MAX_BYTES + 1)
    except OSError as exc:
        raise _fail(f"cannot read {what} {path}: {exc.strerror}", 2) from exc
    try:
        return parse_json(data)
    except VcError as exc:
        raise _fail(f"{path}: {exc.message} [{exc.code}]") from exc


def _write_private(path: Path, text: str, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise _fail(f"{path} exists; use --force to replace it", 2) from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@keys_app.command("generate")
def keys_generate(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the key file (0600).")],
    passphrase_env: Annotated[
        str | None,
        typer.Option(help="Encrypt the secret key with the passphrase in this env variable."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Generate an Ed25519 key; prints its did:key."""
    key = KeyPair.generate()
    data = export_key(key, _passphrase(passphrase_env))
    _write_private(out_path, json.dumps(data, indent=2) + "\n", force)
    out.print(key.public.did_key)


@app.command("prove-did")
def prove_did(
    key_path: Annotated[Path, typer.Option("--key", help="Key file from `keys generate`.")],
    challenge: Annotated[str, typer.Option(help="The challenge the wallet page shows.")],
    domain: Annotated[str, typer.Option(help="The wallet's address, as the page shows it.")],
    passphrase_env: Annotated[
        str | None, typer.Option(help="Env variable holding the key file's passphrase.")
    ] = None,
) -> None:
    """Sign a wallet's challenge with your did:key: prints a Verifiable Presentation to paste."""
    from microcred.vc.presentation import sign_presentation

    try:
        key = import_key(_read_json(key_path, "key file"), _passphrase(passphrase_env))
    except VcError as exc:
        raise _fail(f"{exc.message} [{exc.code}]") from exc
    presentation = sign_presentation(
        [], key, challenge=challenge, domain=domain, created=datetime.now(UTC)
    )
    sys.stdout.write(json.dumps(presentation, indent=2) + "\n")


@app.command()
def sign(
    in_path: Annotated[Path, typer.Argument(metavar="IN.json", help="Unsigned credential.")],
    key_path: Annotated[Path, typer.Option("--key", help="Key file from `keys generate`.")],
    suite: Annotated[str, typer.Option(help="eddsa-rdfc-2022 or eddsa-jcs-2022.")] = (
        EDDSA_RDFC_2022
    ),
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of standard output.")
    ] = None,
    passphrase_env: Annotated[
        str | None, typer.Option(help="Env variable holding the key file's passphrase.")
    ] = None,
) -> None:
    """Sign an unsigned credential; fills in the issuer with the key's DID when absent."""
    if suite not in SIGNING_SUITES:
        raise _fail(f"unknown suite {suite!r}; choose one of {', '.join(SIGNING_SUITES)}", 2)
    document = _read_json(in_path, "credential")
    if not isinstance(document, dict):
        raise _fail(f"{in_path}: a credential must be a JSON object")
    try:
        key = import_key(_read_json(key_path, "key file"), _passphrase(passphrase_env))
        signed = sign_credential(document, key, created=datetime.now(UTC), suite=suite)
    except VcError as exc:
        raise _fail(f"{exc.message} [{exc.code}]") from exc
    text = json.dumps(signed, indent=2, ensure_ascii=False) + "\n"
    if out_path is None:
        sys.stdout.write(text)
    else:
        out_path.write_text(text, encoding="utf-8")
        err.print(f"signed {escape(str(in_path))} -> {escape(str(out_path))}")


# Exit codes of ``verify``, one per verdict (2 is a usage problem); a batch exits with the code of
# its most serious verdict, in the contract's order.
EXIT_CODES = {
    Verdict.VERIFIED: 0,
    Verdict.VERIFIED_WITH_WARNINGS: 0,
    Verdict.INVALID: 1,
    Verdict.REVOKED: 3,
    Verdict.SUSPENDED: 4,
    Verdict.EXPIRED: 5,
    Verdict.NOT_YET_VALID: 6,
    Verdict.STATUS_UNCHECKED: 7,
}
VERDICT_WORDS = {
    Verdict.VERIFIED: "[green]VERIFIED[/green]",
    Verdict.VERIFIED_WITH_WARNINGS: "[yellow]VERIFIED WITH WARNINGS[/yellow]",
    Verdict.REVOKED: "[red]NOT VERIFIED: REVOKED[/red]",
    Verdict.SUSPENDED: "[red]NOT VERIFIED: SUSPENDED[/red]",
    Verdict.EXPIRED: "[red]NOT VERIFIED: EXPIRED[/red]",
    Verdict.NOT_YET_VALID: "[red]NOT VERIFIED: NOT YET VALID[/red]",
    Verdict.STATUS_UNCHECKED: "[yellow]NOT VERIFIED: STATUS NOT CHECKED[/yellow]",
    Verdict.INVALID: "[red]NOT VERIFIED[/red]",
}


@app.command("verify")
def verify_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...", help="Credentials or presentations: JSON, PNG, SVG, PDF."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per file, one per line.")
    ] = False,
    now: Annotated[
        str | None, typer.Option(help="Verify as of this time (ISO 8601), not the clock.")
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host", help="HOST[:PORT] that may be reached over plain http (development)."
        ),
    ] = None,
    registry: Annotated[
        list[str] | None,
        typer.Option("--registry", help="A trust registry to consult (file or URL; repeatable)."),
    ] = None,
    challenge: Annotated[
        str | None, typer.Option(help="The challenge a presentation must be signed for.")
    ] = None,
    domain: Annotated[
        str | None, typer.Option(help="The domain a presentation must be signed for.")
    ] = None,
    skip_status: Annotated[
        bool,
        typer.Option(
            "--skip-status",
            help="Offline: do not fetch status lists (the verdict says the status was not "
            "checked).",
        ),
    ] = False,
) -> None:
    """Verify credentials and presentations; the exit code names the most serious verdict.

    did:web documents and status lists are fetched through the safe fetcher (https only, no
    private addresses, time and size caps); contexts are never fetched.
    """
    from dataclasses import replace

    from microcred.domain.errors import DomainError
    from microcred.services.trust import load_registry
    from microcred.services.verification import policy_for
    from microcred.vc.fetch import SafeFetcher
    from microcred.vc.policy import system_clock

    fetcher = SafeFetcher(allow_host or ())
    try:
        registries = [load_registry(source, fetcher) for source in registry or ()]
    except (DomainError, VcError, OSError) as exc:
        raise _fail(f"cannot read the registry: {getattr(exc, 'message', exc)}", 2) from exc
    clock = system_clock
    if now is not None:
        try:
            moment = parse_datetime(now, "--now")
        except VcError as exc:
            raise _fail(exc.message, 2) from exc
        clock = lambda: moment  # noqa: E731 - the clock of this run, status lists included
    policy = replace(policy_for(fetcher, None, registries, clock), skip_status=skip_status)
    if not registries:
        policy = replace(policy, trust_checker=None)
    verdicts = []
    for path in files:
        try:
            with path.open("rb") as handle:
                data = handle.read(8 * 1024 * 1024 + 1)
        except OSError as exc:
            raise _fail(f"cannot read {path}: {exc.strerror}", 2) from exc
        try:
            verdict, record, reports = _verify_file(data, policy, challenge, domain)
        except Exception as exc:  # noqa: BLE001 - one file's failure never hides the others
            report = VerificationReport()
            report.add(
                "internal",
                Outcome.FAILED,
                "internal.error",
                f"verification stopped on an unexpected problem ({type(exc).__name__})",
            )
            verdict, record, reports = report.verdict, report.to_json(), [report]
        verdicts.append(verdict)
        if as_json:
            sys.stdout.write(json.dumps({"file": str(path), **record}) + "\n")
        elif record.get("kind") == "presentation":
            _print_presentation(path, verdict, reports)
        else:
            _print_report(path, reports[0])
    raise typer.Exit(EXIT_CODES[worst(verdicts)])


def _verify_file(
    data: bytes, policy: Policy, challenge: str | None, domain: str | None
) -> tuple[Verdict, dict[str, Any], list[VerificationReport]]:
    """A file's verdict, its ``--json`` record, and its reports (a presentation's first, then
    each credential inside)."""
    from microcred.services.verification import failed, read_file, sniff, verify_document
    from microcred.vc.errors import DocumentError
    from microcred.vc.presentation import verify_presentation

    try:
        text, source_format = read_file(data)
    except DocumentError as exc:
        result = failed(exc, sniff(data))
        return result.report.verdict, result.to_json(), [result.report]
    document = _presentation(text, policy)
    if document is None:
        result = verify_document(text, policy, source_format)
        return result.report.verdict, result.to_json(), [result.report]
    presented = verify_presentation(document, policy, challenge=challenge, domain=domain)
    reports = [presented.presentation, *presented.credentials]
    verdict = presented.verdict
    record = {"format": source_format, "kind": "presentation", "verdict": verdict.value}
    return verdict, {**record, **presented.to_json()}, reports


def _presentation(text: str, policy: Policy) -> dict[str, Any] | None:
    """The document when it is a Verifiable Presentation."""
    try:
        document = parse_json(text, max_bytes=policy.max_bytes, max_depth=policy.max_depth)
    except VcError:
        return None  # verified as a credential, which reports the problem
    kinds = document.get("type") if isinstance(document, dict) else None
    if "VerifiablePresentation" in (kinds if isinstance(kinds, list) else [kinds]):
        return dict(document)
    return None


def _print_report(path: Path | str, report: VerificationReport, indent: str = "") -> None:
    out.print(f"{indent}{escape(str(path))}: {VERDICT_WORDS[report.verdict]}")
    if report.steps:
        out.print(f"{indent}  {escape(report.headline())}")
    for step in report.steps:
        title = STEP_TITLES.get(step.name, step.name)
        out.print(
            f"{indent}  {MARKS[step.outcome]} {title}: {escape(step.message)} "
            f"[dim]({step.code})[/dim]"
        )
    credential = report.credential or {}
    subject = credential.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    if report.verified and isinstance(achievement, dict) and achievement.get("name"):
        out.print(f"{indent}  Certifies: {escape(str(achievement['name']))}")


def _print_presentation(path: Path, verdict: Verdict, reports: list[VerificationReport]) -> None:
    out.print(f"{escape(str(path))}: presentation, {VERDICT_WORDS[verdict]}")
    _print_report("the presentation", reports[0], "  ")
    for number, report in enumerate(reports[1:], 1):
        _print_report(f"credential {number}", report, "  ")


@app.command()
def tour(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write the tour's files.")
    ] = Path("tour-output"),
) -> None:
    """The five-minute tour: a key, a signed micro-credential, verified, then tampered."""
    from microcred.tour import run_tour

    raise typer.Exit(run_tour(directory, out, _print_report))


def _platform(base_url: str | None = None) -> Any:
    """Settings from the environment (``--base-url`` wins), migrations applied."""
    from dataclasses import replace

    from microcred.config import ConfigError, load_settings
    from microcred.services.app import App

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise _fail(str(exc), 2) from exc
    if base_url:
        from urllib.parse import urlsplit

        base = base_url.rstrip("/")
        allow = settings.allow_http_hosts
        if base.startswith("http://") and not settings.production:
            allow = allow | {urlsplit(base).netloc}
        settings = replace(settings, base_url=base, allow_http_hosts=allow)
    return App.start(settings)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    demo: Annotated[
        bool, typer.Option(help="Create the demo provider (once) and print its sign-in.")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Web processes (uvicorn workers) sharing the port.")
    ] = 1,
    run_jobs: Annotated[
        bool | None,
        typer.Option(
            "--jobs/--no-jobs",
            help="Run queued jobs in this process too (default: on SQLite yes; on PostgreSQL "
            "no, run `microcred worker`).",
        ),
    ] = None,
) -> None:
    """Run the web application (database from MICROCRED_DATABASE_URL; migrations applied once,
    before the worker processes start)."""
    import os

    import uvicorn

    from microcred import logs, metrics
    from microcred.services.app import settle_memory
    from microcred.web.app import create_app

    base_url = None if os.environ.get("MICROCRED_BASE_URL") else f"http://{host}:{port}"
    platform = _platform(base_url)
    settings = platform.settings
    logs.configure(settings)
    if demo:
        from microcred.services.demo import ensure_demo

        login = ensure_demo(platform)
        out.print(f"Demo provider '{login.slug}' — sign in at {platform.settings.base_url}/signin")
        out.print(f"  email: {login.email}")
        out.print(f"  password: {login.password}   (reset at every start in demo mode)")
    out.print(f"microcred on {platform.settings.base_url} (database: {_safe_url(platform)})")
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": logs.uvicorn_log_config(settings),
        "log_level": settings.log_level.lower(),
        "access_log": False,  # microcred.access writes one line per request instead
    }
    from contextlib import nullcontext

    from microcred.services import jobs

    if run_jobs is None:
        run_jobs = not jobs.on_postgresql(platform)
    background = jobs.running(platform) if run_jobs else nullcontext()
    if run_jobs:
        out.print("jobs run in this process")
    if workers == 1:
        web = create_app(platform)
        settle_memory()
        with background:
            uvicorn.run(web, **common)
        return
    # Each worker process builds the app from the environment; prepare it all here once.
    create_app(platform)  # the platform's signing identity, created before workers race for it
    os.environ["MICROCRED_BASE_URL"] = settings.base_url
    if not metrics.multiprocess_dir():  # one /metrics for all workers (prometheus-client)
        os.environ[metrics.MULTIPROC_ENV] = str(settings.data_dir / "prometheus")
    metrics.prepare_multiprocess_dir()
    out.print(f"{workers} worker processes; metrics in {metrics.multiprocess_dir()}")
    with background:  # in this (supervising) process, beside the web processes
        from microcred.web.workers import serve

        try:
            serve(workers, common)
        except OSError as exc:  # the port is taken (by another server, or another microcred)
            problem = _("cannot listen on %(where)s: %(why)s") % {
                "where": f"{host}:{port}",
                "why": exc.strerror or exc,
            }
            out.print(f"[red]{escape(problem)}[/red]")
            raise typer.Exit(1) from exc


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Jobs run at once in this process (threads).")
    ] = 1,
    stalled_after: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="Seconds without a heartbeat after which another worker's jobs are taken up.",
        ),
    ] = 30.0,
) -> None:
    """Run queued jobs (bulk issuing, email) until stopped; run as many as you like, on as many
    machines as reach the database."""
    import signal
    import threading

    from microcred import logs
    from microcred.services import jobs
    from microcred.services.app import settle_memory

    platform = _platform()
    logs.configure(platform.settings)
    out.print(f"microcred worker (database: {_safe_url(platform)})")
    jobs.load_tasks()  # the contexts were read when the platform started (its VerifyMemo)
    settle_memory()
    if jobs.on_postgresql(platform):
        from microcred.services import queue_pg

        queue_pg.run_worker(platform, concurrency=concurrency, stalled_after=stalled_after)
        return
    runner = jobs.LocalRunner(platform, concurrency=concurrency, stalled_after=stalled_after)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner.start()
    while not stop.wait(1.0):
        pass
    out.print("stopping: finishing the jobs in hand")
    runner.stop()


def _safe_url(platform: Any) -> str:
    return str(platform.engine.url.render_as_string(hide_password=True))


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    base_url: Annotated[str, typer.Option(help="Public URL the site/ folder will be served at.")],
) -> None:
    """Create a fresh demo provider; write its credentials, site/ documents and manifest.json."""
    import secrets as _secrets

    from microcred.services.demo import export, seed

    platform = _platform(base_url)
    slug = f"demo-{_secrets.token_hex(4)}"
    try:
        seeded = seed(platform, slug, f"owner@{slug}.example", _secrets.token_urlsafe(16))
        manifest = export(platform, slug, seeded, out_dir)
    finally:
        platform.engine.dispose()
    out.print(f"wrote {manifest} ({seeded.count} credentials and a learner record)")


@app.command()
def bake(
    credential_path: Annotated[
        Path, typer.Argument(metavar="FILE.json", help="Signed credential.")
    ],
    png: Annotated[Path | None, typer.Option("--png", help="Write a baked PNG badge here.")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", help="Write a baked SVG badge here.")] = None,
    image: Annotated[
        Path | None, typer.Option(help="Badge image to bake into (default: one is drawn).")
    ] = None,
) -> None:
    """Bake a credential into a PNG or SVG badge (Open Badges 3.0 baking)."""
    from microcred.render.images import badge_png, badge_svg
    from microcred.vc import baking

    if png is None and svg is None:
        raise _fail("give --png OUT.png or --svg OUT.svg", 2)
    try:
        text = credential_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {credential_path}: {exc}", 2) from exc
    document = _read_json(credential_path, "credential")
    if not isinstance(document, dict):
        raise _fail(f"{credential_path}: a credential must be a JSON object")
    try:
        if png is not None:
            base = (
                image.read_bytes()
                if image and image.suffix.lower() == ".png"
                else badge_png(document)
            )
            png.write_bytes(baking.bake_png(base, text))
            err.print(f"baked {escape(str(png))}")
        if svg is not None:
            base_svg = (
                image.read_text("utf-8")
                if image and image.suffix.lower() == ".svg"
                else badge_svg(document)
            )
            svg.write_text(baking.bake_svg(base_svg, text), encoding="utf-8")
            err.print(f"baked {escape(str(svg))}")
    except VcError as exc:
        raise _fail(f"{exc.message} [{exc.code}]") from exc


@app.command()
def extract(
    image_path: Annotated[Path, typer.Argument(metavar="IMAGE", help="A baked PNG or SVG.")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Write here, not to stdout.")
    ] = None,
) -> None:
    """Print the credential baked into a PNG or SVG badge, byte for byte."""
    from microcred.vc import baking

    try:
        data = image_path.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {image_path}: {exc.strerror}", 2) from exc
    try:
        text = baking.extract(data)
    except VcError as exc:
        raise _fail(f"{image_path}: {exc.message} [{exc.code}]") from exc
    if out_path is None:
        sys.stdout.write(text)
    else:
        out_path.write_text(text, encoding="utf-8")


@app.command()
def certificate(
    credential_path: Annotated[
        Path, typer.Argument(metavar="FILE.json", help="Signed credential.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="The PDF to write.")],
    verifier: Annotated[
        str | None,
        typer.Option(help="Base URL of the verification page (default: the credential's site)."),
    ] = None,
) -> None:
    """A PDF certificate: the EU elements, outcomes, a QR code to verify, the credential inside."""
    from microcred.render.certificate import certificate_pdf

    try:
        text = credential_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {credential_path}: {exc}", 2) from exc
    document = _read_json(credential_path, "credential")
    if not isinstance(document, dict):
        raise _fail(f"{credential_path}: a credential must be a JSON object")
    out_path.write_bytes(certificate_pdf(text, verification_url(document, verifier)))
    err.print(f"wrote {escape(str(out_path))}")


def verification_url(document: dict[str, Any], verifier: str | None) -> str:
    """The URL a certificate's QR code opens: the verify page for this credential."""
    from urllib.parse import quote, urlsplit

    credential_id = str(document.get("id", ""))
    parts = urlsplit(credential_id)
    if verifier is None and parts.scheme in ("http", "https"):
        verifier = f"{parts.scheme}://{parts.netloc}"
    base = (verifier or "https://verify.microcred.example").rstrip("/")
    if parts.scheme in ("http", "https"):
        return f"{base}/verify?url={quote(credential_id + '.json', safe='')}"
    return f"{base}/verify"


provider_app = typer.Typer(help="Providers (organisations) on this platform.", no_args_is_help=True)
app.add_typer(provider_app, name="provider")


@provider_app.command("create")
def provider_create(
    slug: Annotated[str, typer.Option(help="URL name: lower-case letters, digits and -.")],
    name: Annotated[str, typer.Option(help="Legal name of the organisation.")],
    country: Annotated[str, typer.Option(help="ISO 3166 two-letter country code.")],
    owner_email: Annotated[str, typer.Option(help="The first owner's sign-in email.")],
    password_env: Annotated[
        str, typer.Option(help="Env variable holding the owner's initial password.")
    ] = "MICROCRED_OWNER_PASSWORD",  # noqa: S107 - the variable's name, not a password
    region: Annotated[str | None, typer.Option(help="Region, as shown on credentials.")] = None,
    website: Annotated[str | None, typer.Option(help="Website URL.")] = None,
    qa_body: Annotated[
        bool, typer.Option("--qa-body", help="A quality-assurance body that accredits providers.")
    ] = False,
) -> None:
    """Create a provider (or a QA body), its owner account and its first signing key."""
    import os

    from microcred.domain.errors import DomainError
    from microcred.services.providers import register

    password = os.environ.get(password_env, "")
    if not password:
        raise _fail(f"set the owner's initial password in {password_env}", 2)
    platform = _platform()
    try:
        did = register(
            platform,
            slug=slug,
            legal_name=name,
            country_code=country.upper(),
            owner_email=owner_email,
            owner_password=password,
            region=region,
            website=website,
            kind="qa_body" if qa_body else "provider",
        )
    except DomainError as exc:
        raise _fail(f"{exc.message} [{exc.code}]") from exc
    finally:
        platform.engine.dispose()
    out.print(f"created {slug}: {did}")


@provider_app.command("operator")
def provider_operator(
    email: Annotated[str, typer.Option(help="The operator's sign-in email.")],
    name: Annotated[str, typer.Option(help="The operator's name.")] = "Operator",
    password_env: Annotated[
        str, typer.Option(help="Env variable holding the operator's initial password.")
    ] = "MICROCRED_OPERATOR_PASSWORD",  # noqa: S107 - the variable's name, not a password
) -> None:
    """Add an operator: they review applications to join (/operator) after signing in."""
    import os

    from microcred.domain.errors import DomainError
    from microcred.services.onboarding import add_operator

    password = os.environ.get(password_env, "")
    if not password:
        raise _fail(f"set the operator's initial password in {password_env}", 2)
    platform = _platform()
    try:
        add_operator(platform, email, name, password)
    except DomainError as exc:
        raise _fail(f"{exc.message} [{exc.code}]") from exc
    finally:
        platform.engine.dispose()
    out.print(f"operator {email} added: sign in at {platform.settings.base_url}/signin")


pathway_app = typer.Typer(help="Pathways to macro-credentials.", no_args_is_help=True)
app.add_typer(pathway_app, name="pathway")
rpl_app = typer.Typer(help="Recognition of prior learning.", no_args_is_help=True)
app.add_typer(rpl_app, name="rpl")


def _staff_for(platform: Any, email: str) -> int:
    from microcred.services.providers import staff_id_by_email

    staff_id = staff_id_by_email(platform, email)
    if staff_id is None:
        raise _fail(f"no staff member {email}", 2)
    return staff_id


@pathway_app.command("create")
def pathway_create(
    definition: Annotated[int, typer.Option(help="The macro-credential: a published definition.")],
    rules_path: Annotated[Path, typer.Option("--rules", help="The rules, as JSON.")],
    as_email: Annotated[str, typer.Option("--as", help="Staff email (owner or issuer).")],
    name: Annotated[str, typer.Option(help="Shown to learners.")] = "",
    confirm: Annotated[
        bool, typer.Option(help="Awards wait for the provider's confirmation.")
    ] = False,
) -> None:
    """Create a pathway from a rules file."""
    from microcred.domain.errors import DomainError
    from microcred.services import stacking

    rules = _read_json(rules_path, "rules")
    platform = _platform()
    try:
        staff_id = _staff_for(platform, as_email)
        pathway = stacking.create_pathway_as(
            platform,
            staff_id,
            definition_id=definition,
            name=name,
            rules=rules,
            award_mode="confirm" if confirm else "auto",
        )
        out.print(f"pathway {pathway.id}: {escape(pathway.name)}")
    except DomainError as exc:
        raise _fail(f"{exc.message} [{exc.code}]") from exc
    finally:
        platform.engine.dispose()


@pathway_app.command("progress")
def pathway_progress(
    email: Annotated[str, typer.Argument(help="The learner's wallet email.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """A learner's progress on every pathway."""
    from microcred.services import stacking

    platform = _platform()
    try:
        rows = stacking.progress_report(platform, email)
    finally:
        platform.engine.dispose()
    if rows is None:
        raise _fail(f"no wallet for {email}", 2)
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    for row in rows:
        out.print(
            f"{escape(str(row['pathway']))}: {row['progress']:.0%}"
            + (
                ""
                if row["satisfied"]
                else " — missing: " + escape("; ".join(map(str, row["missing"])))
            )
        )


@app.command("record")
def learner_record(
    email: Annotated[str, typer.Argument(help="The learner's wallet email.")],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the record (JSON).")],
    item: Annotated[
        list[str] | None, typer.Option(help="A wallet item id (repeatable; default: all).")
    ] = None,
) -> None:
    """Export a learner's credentials as a signed CLR 2.0 comprehensive learner record."""
    from microcred.domain.errors import DomainError
    from microcred.services import records

    platform = _platform()
    try:
        record = records.build_for_email(platform, email, item or None)
    except DomainError as exc:
        raise _fail(f"{exc.message} [{exc.code}]") from exc
    finally:
        platform.engine.dispose()
    if record is None:
        raise _fail(f"no wallet for {email}", 2)
    out_path.write_bytes(record.to_bytes())
    out.print(f"wrote {escape(str(out_path))}: {record.included} credential(s)")
    for left in record.left_out:
        err.print(f"left out {escape(left.name or left.item_id)}: {escape(left.reason)}")


@rpl_app.command("decide")
def rpl_decide(
    application: Annotated[int, typer.Argument(help="Application number.")],
    action: Annotated[str, typer.Option(help="request_more, accept or reject.")],
    as_email: Annotated[str, typer.Option("--as", help="Staff email.")],
    message: Annotated[str, typer.Option(help="To the learner.")] = "",
    met: Annotated[
        list[str] | None, typer.Option(help="Outcome id judged met (repeatable; 'all' for all).")
    ] = None,
) -> None:
    """Record an RPL decision (every decision is kept)."""
    from microcred.domain.errors import DomainError
    from microcred.services import rpl

    platform = _platform()
    try:
        staff_id = _staff_for(platform, as_email)
        result = rpl.decide_as(platform, staff_id, application, action, message, met)
        out.print(
            f"application {result.id}: {result.state}"
            + (f", credential {result.credential_id}" if result.credential_id else "")
        )
    except DomainError as exc:
        raise _fail(f"{exc.message} [{exc.code}]") from exc
    finally:
        platform.engine.dispose()


@app.command("issue-bulk")
def issue_bulk(
    csv_path: Annotated[Path, typer.Argument(metavar="FILE.csv", help="One learner per row.")],
    definition: Annotated[int, typer.Option(help="Published definition id.")],
    as_email: Annotated[
        str | None, typer.Option("--as", help="Staff email to issue as (default: an owner).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Issue credentials from a CSV; every row is checked first; safe to run again.

    The rows go to the job queue like a web upload; this command then works the queue in this
    process until the upload is done (other workers may share it)."""
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from microcred.domain.errors import DomainError
    from microcred.services import jobs
    from microcred.services.bulk import MAX_BYTES, issuer_for, progress_of, upload_as

    platform = _platform()
    try:
        data = csv_path.open("rb").read(MAX_BYTES + 1)
    except OSError as exc:
        raise _fail(f"cannot read {csv_path}: {exc.strerror}", 2) from exc
    try:
        staff_id = issuer_for(platform, definition, as_email)
        upload_id = upload_as(platform, staff_id, definition, data, csv_path.name)
    except DomainError as exc:
        if exc.code == "not_found" and "definition" in exc.message:
            raise _fail(f"no definition {definition}", 2) from exc
        if exc.code == "not_found":
            raise _fail("no such staff member of this definition's provider", 2) from exc
        raise _fail(f"{exc.message} [{exc.code}]") from exc
    finished = threading.Event()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=as_json,
    ) as bar:
        task = bar.add_task("issuing", total=None)

        def watch() -> None:
            while not finished.wait(0.5):
                now = progress_of(platform, upload_id)
                bar.update(task, completed=now.accepted - now.pending, total=now.accepted)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            while progress_of(platform, upload_id).pending:
                if not jobs.drain(platform):
                    time.sleep(1.0)  # other workers hold its chunks: look again soon
            jobs.drain(platform)  # the upload's emails
        finally:
            finished.set()
            watcher.join()
        report = progress_of(platform, upload_id)
        platform.engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(report.to_json()) + "\n")
    else:
        out.print(
            f"{report.issued} issued, {report.already} already issued, "
            f"{len({p.row for p in report.problems})} row(s) rejected, "
            f"of {report.upload.rows_total}"
        )
        for problem in report.problems:
            out.print(f"  {escape(str(problem))}")
    raise typer.Exit(0 if not report.problems else 1)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute every audit chain (hashes, links, no gaps): exit 0 when all are intact, 1
    naming the chain, seq and what is wrong."""
    from microcred.services import audit

    platform = _platform()
    try:
        result = audit.verify(platform)
    finally:
        platform.engine.dispose()
    for problem in result.problems:
        err.print(f"[red]✘[/red] {escape(f'{problem} [{problem.code}]')}")
    summary = f"{len(result.chains)} chain(s), {result.events} event(s)"
    if not result.intact:
        err.print(f"audit log NOT intact: {len(result.problems)} problem(s) in {summary}")
        raise typer.Exit(1)
    out.print(f"[green]✔[/green] audit log intact: {summary}")
    for chain, count in sorted(result.chains.items()):
        out.print(f"  {chain}: {count} event(s)")


@app.command("backup")
def backup_command(
    destination: Annotated[Path, typer.Argument(metavar="FILE", help="A new file.")],
) -> None:
    """Back up the database (SQLite: a consistent online copy; PostgreSQL: pg_dump's custom
    format). Signing keys stay sealed; the KEK is not in the backup: keep it apart."""
    from microcred.domain.errors import DomainError
    from microcred.services import backup

    platform = _platform()
    try:
        written = backup.backup(platform, destination)
    except DomainError as exc:
        raise _fail(f"{exc.message} [{exc.code}]", 1) from exc
    finally:
        platform.engine.dispose()
    out.print(f"[green]✔[/green] backup written: {written} ({written.stat().st_size} bytes)")


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(metavar="FILE", help="A file made by `backup`.")],
    used: Annotated[
        Path | None,
        typer.Option(
            help="Status indexes in use, from `microcred status used` (when the "
            "database being replaced is gone)."
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace the database without asking.")
    ] = False,
) -> None:
    """Replace the database with a backup (stop the platform first). Every status index in use
    in the database being replaced (and in --used) is reserved, so credentials issued after the
    backup never share a bit with new ones."""
    from microcred.domain.errors import DomainError
    from microcred.services import backup

    if not yes:
        typer.confirm(f"Replace the database with {source}?", abort=True)
    platform = _platform()
    try:
        extra = backup.read_used(used) if used else []
        reserved = backup.restore(platform, source, extra)
    except DomainError as exc:
        raise _fail(f"{exc.message} [{exc.code}]", 1) from exc
    finally:
        platform.engine.dispose()
    out.print(f"[green]✔[/green] restored from {source}; {reserved} status index(es) reserved")


@status_app.command("used")
def status_used() -> None:
    """Print every status index in use, one JSON object a line (keep it with the backups:
    `restore --used` needs it when the database being replaced is lost)."""
    from microcred.services import backup

    platform = _platform()
    try:
        for item in backup.used_indexes(platform.engine):
            sys.stdout.write(json.dumps(item.to_json()) + "\n")
    finally:
        platform.engine.dispose()


if __name__ == "__main__":  # pragma: no cover
    app()
