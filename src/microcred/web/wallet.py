"""The learner's pages: account, wallet, import, downloads, sharing, presentations, privacy."""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from microcred.domain.award import read_eu_elements
from microcred.domain.catalog import MANDATORY_ELEMENTS, OPTIONAL_ELEMENTS
from microcred.domain.errors import DomainError, NotFound
from microcred.domain.holder import Binding, binding
from microcred.i18n import _, ngettext
from microcred.i18n import current as current_language
from microcred.render.certificate import certificate_pdf
from microcred.render.images import badge_png, badge_svg, svg_of
from microcred.services import (
    branding,
    catalogue,
    definitions,
    outbox,
    records,
    rpl,
    sessions,
    throttle,
    unit,
    usage,
    wallet,
)
from microcred.services import stacking as stacking_service
from microcred.services.app import App
from microcred.services.models import LearnerAccount, WalletItem
from microcred.services.trust import RegistryTrust
from microcred.services.verification import (
    SelfFetcher,
    VerifyResult,
    platform_policy,
    verdicts_of,
    verify_document,
    verify_stored,
)
from microcred.vc import baking, clr
from microcred.vc.errors import VcError
from microcred.vc.message import text as shown
from microcred.web.deps import (
    LEARNER_SESSION,
    STAFF_SESSION,
    AppDep,
    Csrf,
    DbSession,
    FormRowId,
    RowId,
    SignInRequired,
    client_address,
    keep_writes,
    rate_limited,
)
from microcred.web.render import attachment, refused_to, render, see_other, too_many

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)
LABELS = {**MANDATORY_ELEMENTS, **OPTIONAL_ELEMENTS}  # English: pages say _(label)
MAX_IMPORT = 8 * 1024 * 1024


def current_learner(request: Request, app: AppDep, session: DbSession) -> LearnerAccount:
    token = request.session.get(LEARNER_SESSION)
    account_id = sessions.subject(app, session, "learner", token) if token else None
    account = wallet.get_account(session, account_id) if account_id else None
    if account is None:
        request.session.pop(LEARNER_SESSION, None)  # ended or expired: signed out
        raise SignInRequired
    request.state.learner = {"name": account.name, "email": account.email}
    return account


Learner = Annotated[LearnerAccount, Depends(current_learner)]


@router.get("/account/signup")
def signup_form(request: Request) -> Response:
    return render(request, "account_signup.html", error=None, sent=False)


@router.post("/account/signup", dependencies=[Csrf])
def signup(
    request: Request,
    app: AppDep,
    session: DbSession,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        account = wallet.sign_up(app, session, name, email, password)
    except DomainError as exc:
        return render(
            request, "account_signup.html", status_code=422, error=exc.message, sent=False
        )
    sessions.end(app, session, request.session.get(LEARNER_SESSION))  # whoever was signed in
    request.session.clear()
    request.session[LEARNER_SESSION] = sessions.start(app, session, "learner", account.id)
    return render(request, "account_signup.html", error=None, sent=True, email=account.email)


@router.get("/account/verify")
def confirm(request: Request, app: AppDep, session: DbSession, token: str = "") -> Response:
    try:
        account = wallet.confirm_email(app, session, token)
    except DomainError as exc:
        return render(request, "error.html", status_code=400, status=400, message=exc.message)
    sessions.end(app, session, request.session.get(LEARNER_SESSION))
    request.session.clear()  # the link signs in: a new session
    request.session[LEARNER_SESSION] = sessions.start(app, session, "learner", account.id)
    return see_other("/wallet?confirmed=1")


@router.get("/account/signin")
def signin_form(request: Request) -> Response:
    return render(request, "account_signin.html", error=None)


@router.post("/account/signin", dependencies=[Csrf])
def signin(
    request: Request,
    app: AppDep,
    session: DbSession,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        account = throttle.sign_in(
            app,
            session,
            "learner",
            email,
            client_address(request),
            lambda: wallet.sign_in(session, email, password),
        )
    except throttle.ThrottledError as exc:
        return too_many(request, "account_signin.html", exc.message, exc.retry_after)
    if account is None:
        page = render(
            request, "account_signin.html", status_code=401, error=_("Wrong email or password.")
        )
        keep_writes(request)  # the failure is counted
        return page
    sessions.end(app, session, request.session.get(LEARNER_SESSION))  # whoever was signed in
    request.session.clear()
    request.session[LEARNER_SESSION] = sessions.start(app, session, "learner", account.id)
    return see_other("/wallet")


@router.post("/account/signout", dependencies=[Csrf])
def signout(request: Request, app: AppDep, session: DbSession) -> Response:
    sessions.end(app, session, request.session.get(LEARNER_SESSION))
    request.session.clear()
    return see_other("/")


@router.post("/account/signout/everywhere", dependencies=[Csrf])
def signout_everywhere(
    request: Request, app: AppDep, account: Learner, session: DbSession
) -> Response:
    """Every session of this learner ends, on every device, this one included."""
    sessions.end_all(app, session, "learner", account.id)
    request.session.clear()
    return see_other("/account/signin?everywhere=1")


@router.get("/account/reset")
def reset_form(request: Request, token: str = "") -> Response:
    return render(request, "account_reset.html", token=token, error=None, sent=False)


@router.post("/account/reset", dependencies=[Csrf])
def reset(
    request: Request,
    app: AppDep,
    session: DbSession,
    email: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    if token:
        try:
            wallet.reset_password(app, session, token, password)
        except DomainError as exc:
            return render(
                request,
                "account_reset.html",
                status_code=422,
                token=token,
                error=exc.message,
                sent=False,
            )
        return see_other("/account/signin")
    address = client_address(request)
    try:  # whether or not the address has an account: the answer says nothing about that
        throttle.check(app, session, "reset", email, address)
    except throttle.ThrottledError as exc:
        return too_many(
            request, "account_reset.html", exc.message, exc.retry_after, token="", sent=False
        )
    throttle.failed(app, session, "reset", email, address)  # every request counts
    account = wallet.account_by_email(session, email)
    if account is not None:
        wallet.send_token(app, session, account, "reset")
    # the same answer whether or not the address has an account
    return render(request, "account_reset.html", token="", error=None, sent=True)


@router.get("/dev/outbox")
def dev_outbox(request: Request, app: AppDep, session: DbSession) -> Response:
    """Development only, and only for a signed-in provider owner; 404 to everyone else."""
    found = outbox.for_session(app, session, request.session.get(STAFF_SESSION))
    if found is None:
        raise NotFound("page")
    return render(request, "outbox.html", messages=found)


def _live(app: Any, entry: WalletItem, policy: Any = None) -> VerifyResult:
    """Verified now; pass one ``policy`` for a whole page (each list and document read once)."""
    return verify_document(entry.document, policy or platform_policy(app))


def _kept(app: Any, entries: list[WalletItem]) -> list[VerifyResult]:
    """Each item's verdict now: kept results (ADR 0022) read in one batch, the rest verified."""
    return verify_stored(app, [entry.document for entry in entries])


def _claim(app: Any, account: LearnerAccount) -> Session:
    """Claim newly issued credentials in a write transaction of its own (a GET's transaction is
    read-only), then return a fresh read-only session that sees them."""
    if account.email_verified_at is not None:
        wallet.claim_now(app, account.id)
    return unit.read_only_session(app)


@router.get("/wallet")
def wallet_home(request: Request, app: AppDep, account: Learner, session: DbSession) -> Response:
    session = _claim(app, account)
    try:
        return _wallet_page(
            request, app, wallet.get_account(session, account.id) or account, session
        )
    finally:
        session.close()


def _wallet_page(request: Request, app: Any, account: LearnerAccount, session: Session) -> Response:
    rows = []
    mine = wallet.identities(session, account)
    entries = wallet.items(session, account)
    # the counts cover every item (kept verdicts, read by digest); one page is shown in full
    states = verdicts_of(app, [e.document for e in entries], [wallet.digest_of(e) for e in entries])
    counts = Counter(states)
    pages = max(1, -(-len(entries) // PAGE))
    page = min(_page_number(request), pages)
    shown = entries[(page - 1) * PAGE : page * PAGE]
    for entry, result in zip(shown, _kept(app, shown), strict=True):
        document = result.credential or {}  # parsed once, for every column
        report = result.report
        verdict = report.verdict
        rows.append(
            {
                "item": entry,
                "doc": document,
                "verdict": verdict.value,
                "headline": report.headline_text(),
                "failure": report.failures[0].code if report.failures else None,
                "ok": verdict in wallet.PASSING,
                "binding": binding(document, mine) if document else Binding.UNKNOWN,
                "title": _title_of(document),
                "rpl": rpl.is_rpl(document),
            }
        )
    return render(
        request,
        "wallet.html",
        account=account,
        rows=rows,
        shares=wallet.shares(session, account),
        error=None,
        message=None,
        base_url=app.settings.base_url,
        total=len(entries),
        passing=sum(counts[v.value] for v in wallet.PASSING),
        counts=sorted(counts.items()),
        page=page,
        pages=pages,
        holder=Binding.HOLDER,
    )


PAGE = 50  # credentials shown in full on one page of the wallet


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


def _title(entry: WalletItem) -> str:
    try:
        return _title_of(json.loads(entry.document))
    except ValueError:
        return _("Credential")


def _title_of(document: Any) -> str:
    try:
        return str(
            document.get("credentialSubject", {}).get("achievement", {}).get("name")
            or document.get("name")
            or _("Credential")
        )
    except AttributeError:
        return _("Credential")


@router.post("/wallet/import", dependencies=[Csrf, rate_limited("upload")])
def wallet_import(
    request: Request,
    app: AppDep,
    account: Learner,
    session: DbSession,
    file: UploadFile | None = None,
    text: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
) -> Response:
    try:
        if file is not None and file.filename:
            data = file.file.read(MAX_IMPORT + 1)
            if len(data) > MAX_IMPORT:
                raise DomainError(
                    "import.too_large",
                    _("the file is larger than %(mib)s MiB") % {"mib": MAX_IMPORT // 2**20},
                )
        elif text.strip():
            data = text.encode("utf-8")
        elif url.strip():
            data = SelfFetcher(app).fetch(url.strip())  # its own pages: never over HTTP
        else:
            raise DomainError("import.empty", _("choose a file, paste a credential or give a link"))
        entries, result = wallet.import_any(app, session, account, data)
    except (DomainError, VcError) as exc:
        return refused_to(request, "/wallet", shown(exc.message))
    if result.credential is not None and clr.is_clr(result.credential):
        failing = sum(1 for e in entries if not e.verified_on_import)
        imported = len(entries)
        note = (
            ngettext(
                "%(num)d credential(s) imported from the record",
                "%(num)d credential(s) imported from the record",
                imported,
            )
            % {"num": imported}
            if not failing
            else ngettext(
                "%(num)d credential(s) imported from the record; %(failing)d does not verify "
                "and is marked",
                "%(num)d credential(s) imported from the record; %(failing)d do not verify "
                "and are marked",
                failing,
            )
            % {"num": imported, "failing": failing}
        )
        return see_other("/wallet?" + urlencode({"note": note}))
    if not entries:
        first = (
            result.report.failures[0].text() if result.report.failures else _("not a credential")
        )
        return refused_to(request, "/wallet", _("Not imported: %(reason)s") % {"reason": first})
    return see_other(f"/wallet/items/{entries[0].id}?imported=1")


@router.get("/wallet/items/{item_id}")
def wallet_item(
    item_id: str, request: Request, app: AppDep, account: Learner, session: DbSession
) -> Response:
    entry = wallet.item(session, account, item_id)
    result = _live(app, entry)
    bound = wallet.item_binding(entry, wallet.identities(session, account))
    document = result.credential or {}
    credential_id = str(document.get("id", ""))
    issuer = document.get("issuer") or {}
    linkedin = "https://www.linkedin.com/profile/add?" + urlencode(
        {
            "startTask": "CERTIFICATION_NAME",
            "name": _title(entry),
            "organizationName": issuer.get("name", "") if isinstance(issuer, dict) else "",
            "issueYear": str(document.get("validFrom", ""))[:4],
            "issueMonth": str(int(str(document.get("validFrom", "2000-01"))[5:7] or 1)),
            "certId": credential_id,
            "certUrl": credential_id if credential_id.startswith("http") else app.settings.base_url,
        }
    )
    return render(
        request,
        "wallet_item.html",
        entry=entry,
        result=result,
        ok=wallet.passes(result.report),
        binding=bound,
        holder=Binding.HOLDER,
        title=_title(entry),
        elements=read_eu_elements(document),
        paths=catalogue.platform_paths(app, document),  # its achievement's and issuer's pages
        linkedin=linkedin,
        document=document,
        base_url=app.settings.base_url,
        labels=LABELS,
    )


def _download(entry: WalletItem, kind: str, app: Any, session: Any) -> tuple[bytes, str]:
    document = json.loads(entry.document)
    if kind == "json":
        return entry.document.encode("utf-8"), "application/ld+json"
    art = branding.badge_artwork(app, session, document) if kind in ("png", "svg") else None
    if kind == "png":
        drawn = art.data if art is not None and art.media_type == "image/png" else None
        return baking.bake_png(drawn or badge_png(document), entry.document), "image/png"
    if kind == "svg":
        svg = badge_svg(document) if art is None else svg_of(art.data, art.media_type)
        return baking.bake_svg(svg, entry.document).encode("utf-8"), "image/svg+xml"
    if kind == "pdf":
        credential_id = str(document.get("id", ""))
        verify_url = f"{app.settings.base_url}/verify"
        if credential_id.startswith(("http://", "https://")):
            verify_url += "?url=" + quote(credential_id + ".json", safe="")
        issuer = document.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
        finding = RegistryTrust(app, app.registries).check(str(issuer_id), app.now())
        current = [a for a in finding.details.get("accreditations", []) if a.get("current")]
        look = branding.certificate_branding(session, entry.credential_id)
        shown = catalogue.in_language(app, session, document, current_language())
        pdf = certificate_pdf(entry.document, verify_url, current, branding=look, shown=shown)
        return pdf, "application/pdf"
    raise NotFound("download")


@router.get("/wallet/items/{item_id}/download.{kind}")
def wallet_download(
    item_id: str, kind: str, app: AppDep, account: Learner, session: DbSession
) -> Response:
    entry = wallet.item(session, account, item_id)
    data, media_type = _download(entry, kind, app, session)
    try:
        issued = str(json.loads(entry.document).get("validFrom", ""))[:10]
    except (ValueError, AttributeError):
        issued = ""
    return Response(
        data, media_type=media_type, headers=attachment(f"{_title(entry)} {issued}", kind)
    )


@router.post("/wallet/items/{item_id}/remove", dependencies=[Csrf])
def wallet_item_remove(
    item_id: str,
    account: Learner,
    session: DbSession,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Remove a credential from the wallet and from every public link (asked to confirm)."""
    entry = wallet.item(session, account, item_id)  # 404 for anyone else's
    if confirm != "yes":
        return see_other(
            f"/wallet/items/{entry.id}?"
            + urlencode({"error": _("tick the box to confirm the removal")})
        )
    name = _title(entry)
    wallet.remove_item(session, account, entry.id)
    return see_other(
        "/wallet?" + urlencode({"note": _("Removed from your wallet: %(name)s") % {"name": name}})
    )


# --- identities: further emails and DIDs the learner proves ---


def _identities_page(
    request: Request,
    app: Any,
    account: LearnerAccount,
    session: Session,
    status_code: int = 200,
    **context: Any,
) -> Response:
    context.setdefault("error", None)
    context.setdefault("note", None)
    context.setdefault("challenge", None)
    return render(
        request,
        "account_identities.html",
        status_code=status_code,
        account=account,
        identities=wallet.identity_rows(session, account),
        holder=f"did:key:{account.holder_public}",
        domain=app.settings.base_url,
        **context,
    )


@router.get("/account/identities")
def identities_page(
    request: Request, app: AppDep, account: Learner, session: DbSession
) -> Response:
    return _identities_page(request, app, account, session)


@router.post("/account/identities/email", dependencies=[Csrf])
def identities_add_email(
    request: Request,
    app: AppDep,
    account: Learner,
    session: DbSession,
    email: Annotated[str, Form()] = "",
) -> Response:
    try:
        identity = wallet.add_email(app, session, account, email)
    except DomainError as exc:
        return _identities_page(request, app, account, session, 422, error=exc.message)
    note = _("We sent a link to %(email)s: open it while signed in to prove the address.") % {
        "email": identity.value
    }
    return _identities_page(request, app, account, session, note=note)


@router.get("/account/identities/verify")
def identities_verify_form(
    request: Request, app: AppDep, account: Learner, session: DbSession, token: str = ""
) -> Response:
    """The emailed link asks before adding (mail scanners open links; a GET changes nothing)."""
    try:
        email = wallet.pending_email(app, session, account, token)
    except DomainError as exc:
        return _identities_page(request, app, account, session, 400, error=exc.message)
    return _identities_page(request, app, account, session, confirm_email=email, token=token)


@router.post("/account/identities/verify", dependencies=[Csrf])
def identities_verify(
    request: Request,
    app: AppDep,
    account: Learner,
    session: DbSession,
    token: Annotated[str, Form()] = "",
) -> Response:
    try:
        identity = wallet.confirm_identity_email(app, session, account, token)
    except DomainError as exc:
        return _identities_page(request, app, account, session, 400, error=exc.message)
    return _proven(identity.value)


def _proven(identity: str) -> Response:
    """Back to the identities page, saying which email or DID is now the learner's."""
    note = _("%(identity)s is now proven yours") % {"identity": identity}
    return see_other("/account/identities?" + urlencode({"proven": note}))


@router.post("/account/identities/did/challenge", dependencies=[Csrf])
def identities_did_challenge(
    request: Request, app: AppDep, account: Learner, session: DbSession
) -> Response:
    challenge = wallet.did_challenge(app, session, account)
    return _identities_page(request, app, account, session, challenge=challenge)


@router.post("/account/identities/did", dependencies=[Csrf])
def identities_prove_did(
    request: Request,
    app: AppDep,
    account: Learner,
    session: DbSession,
    presentation: Annotated[str, Form()] = "",
) -> Response:
    try:
        identity = wallet.prove_did(app, session, account, presentation[:200_000])
    except DomainError as exc:
        return _identities_page(request, app, account, session, 422, error=exc.message)
    return _proven(identity.value)


@router.post("/account/identities/{identity_id}/remove", dependencies=[Csrf])
def identities_remove(identity_id: RowId, account: Learner, session: DbSession) -> Response:
    wallet.remove_identity(session, account, identity_id)
    return see_other("/account/identities")


@router.post("/wallet/shares", dependencies=[Csrf])
def wallet_share(
    request: Request,
    app: AppDep,
    account: Learner,
    session: DbSession,
    items: Annotated[list[str] | None, Form()] = None,
    title: Annotated[str, Form()] = "",
    expires_days: Annotated[str, Form()] = "",
) -> Response:
    try:
        days = int(expires_days) if expires_days.strip() else None
        link = wallet.create_share(app, session, account, items or [], title, days)
    except ValueError:
        return refused_to(request, "/wallet", _("the expiry is a number of days"))
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        return refused_to(request, "/wallet", exc.message)
    return see_other(f"/wallet?shared={link.token}")


@router.post("/wallet/shares/{share_id}/revoke", dependencies=[Csrf])
def wallet_share_revoke(
    share_id: RowId, app: AppDep, account: Learner, session: DbSession
) -> Response:
    wallet.revoke_share(app, session, account, share_id)
    return see_other("/wallet")


def _count_views(app: App, entries: list[Any]) -> None:
    """A public link shows each credential verified: a view and a verification of each."""
    for entry in entries:
        if entry.credential_id:
            document = json.loads(entry.document)
            for metric in ("viewed", "verified"):
                usage.note(app, document, metric)


@router.get("/s/{token}")
def shared_page(token: str, request: Request, app: AppDep, session: DbSession) -> Response:
    """A learner's public link: every credential verified live."""
    link, entries = wallet.open_share(app, session, token)
    _count_views(app, entries)
    rows = [
        {
            "item": e,
            "result": result,
            "ok": wallet.passes(result.report),
            "title": _title(e),
            "elements": read_eu_elements(json.loads(e.document)),
        }
        for e, result in zip(entries, _kept(app, entries), strict=True)
    ]
    return render(request, "shared.html", link=link, rows=rows, labels=LABELS)


@router.get("/s/{token}/embed")
def shared_embed(token: str, request: Request, app: AppDep, session: DbSession) -> Response:
    link, entries = wallet.open_share(app, session, token)
    _count_views(app, entries)
    rows = []
    for entry, result in zip(entries, _kept(app, entries), strict=True):
        rows.append({"result": result, "ok": wallet.passes(result.report), "title": _title(entry)})
    response = render(request, "embed.html", link=link, rows=rows)
    response.headers["X-Frame-Options"] = "ALLOWALL"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; frame-ancestors *"
    )
    return response


@router.post("/wallet/presentation", dependencies=[Csrf])
def wallet_presentation(
    request: Request,
    app: AppDep,
    account: Learner,
    session: DbSession,
    items: Annotated[list[str] | None, Form()] = None,
    challenge: Annotated[str, Form()] = "",
    domain: Annotated[str, Form()] = "",
) -> Response:
    """A Verifiable Presentation of chosen credentials for a verifier's challenge and domain."""
    try:
        chosen = [wallet.item(session, account, i) for i in items or []]
        if not chosen:
            raise DomainError("presentation.empty", _("choose at least one credential"))
        presentation = wallet.presentation(app, session, account, chosen, challenge, domain)
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        return refused_to(request, "/wallet", exc.message)
    return Response(
        json.dumps(presentation, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="presentation.json"'},
    )


@router.post("/wallet/record", dependencies=[Csrf])
def wallet_record(
    request: Request,
    app: AppDep,
    account: Learner,
    session: DbSession,
    items: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The chosen credentials as a signed CLR 2.0 comprehensive learner record (download)."""
    try:
        if not items:
            raise DomainError("record.empty", _("choose at least one credential for the record"))
        record = records.build(app, session, account, items)
    except DomainError as exc:
        return refused_to(request, "/wallet", exc.message)
    headers = {"Content-Disposition": 'attachment; filename="learner-record.json"'}
    if record.left_out:
        headers["X-Microcred-Left-Out"] = str(len(record.left_out))
    return Response(record.to_bytes(), media_type="application/json", headers=headers)


@router.get("/account/export")
def account_export(account: Learner, session: DbSession) -> Response:
    return Response(
        wallet.export_zip(session, account),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="my-microcred-data.zip"'},
    )


@router.post("/account/delete", dependencies=[Csrf])
def account_delete(
    request: Request,
    app: AppDep,
    account: Learner,
    session: DbSession,
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        wallet.delete_account(app, session, account, password)
    except DomainError as exc:
        return refused_to(request, "/wallet", exc.message)
    request.session.clear()
    return render(request, "account_erased.html")


@router.get("/wallet/pathways")
def wallet_pathways(
    request: Request, app: AppDep, account: Learner, session: DbSession
) -> Response:
    """Progress towards every macro-credential on the platform, with what would fill the gaps."""
    fresh = _claim(app, account)  # credentials issued since the last visit count too
    try:
        rows = stacking_service.progress(
            app, fresh, wallet.get_account(fresh, account.id) or account
        )
        return render(request, "wallet_pathways.html", rows=rows)
    finally:
        fresh.close()


@router.post("/wallet/pathways/{pathway_id}/award", dependencies=[Csrf])
def wallet_pathway_award(
    request: Request, pathway_id: RowId, app: AppDep, account: Learner, session: DbSession
) -> Response:
    try:
        record = stacking_service.award(app, session, pathway_id, account)
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        return refused_to(request, "/wallet/pathways", exc.message)
    if record.state == "awarded":
        wallet.claim(app, session, account)
        return see_other("/wallet?" + urlencode({"awarded": "1"}))
    return see_other("/wallet/pathways?" + urlencode({"pending": "1"}))


@router.get("/wallet/rpl")
def wallet_rpl(request: Request, account: Learner, session: DbSession) -> Response:
    """Apply for recognition of prior learning; follow your applications."""
    applications = rpl.applications_of(session, account)
    published = definitions.published(session)
    return render(
        request,
        "wallet_rpl.html",
        applications=applications,
        definitions=published,
        items=[(i, _title(i)) for i in wallet.items(session, account)],
        titles={d.id: d.title for d in published},
    )


def _files(uploads: list[UploadFile] | None) -> list[tuple[str, bytes, str]]:
    found = []
    for upload in uploads or []:
        if upload.filename:
            found.append(
                (
                    upload.filename,
                    upload.file.read(rpl.MAX_FILE + 1),
                    upload.content_type or "application/octet-stream",
                )
            )
    return found


@router.post("/wallet/rpl", dependencies=[Csrf])
def wallet_rpl_apply(
    request: Request,
    app: AppDep,
    account: Learner,
    session: DbSession,
    definition_id: FormRowId,
    narrative: Annotated[str, Form()] = "",
    links: Annotated[str, Form()] = "",
    items: Annotated[list[str] | None, Form()] = None,
    files: list[UploadFile] | None = None,
) -> Response:
    try:
        application = rpl.apply(
            app,
            session,
            account,
            definition_id=definition_id,
            narrative=narrative,
            links=links.split(),
            files=_files(files),
            wallet_items=items or [],
        )
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        return refused_to(request, "/wallet/rpl", exc.message)
    return see_other(f"/wallet/rpl/{application.id}")


@router.get("/wallet/rpl/{application_id}")
def wallet_rpl_view(
    application_id: RowId, request: Request, account: Learner, session: DbSession
) -> Response:
    application = rpl.get_for_learner(session, account, application_id)
    definition = definitions.by_id(session, application.definition_id)
    return render(
        request,
        "rpl_application.html",
        application=application,
        definition=definition,
        evidence=rpl.evidence_of(session, application),
        decisions=rpl.decisions_of(session, application),
        as_staff=False,
    )


@router.post("/wallet/rpl/{application_id}/reply", dependencies=[Csrf])
def wallet_rpl_reply(
    request: Request,
    application_id: RowId,
    app: AppDep,
    account: Learner,
    session: DbSession,
    message: Annotated[str, Form()] = "",
    links: Annotated[str, Form()] = "",
    files: list[UploadFile] | None = None,
) -> Response:
    try:
        rpl.reply(
            app, session, account, application_id, message, links=links.split(), files=_files(files)
        )
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        return refused_to(request, f"/wallet/rpl/{application_id}", exc.message)
    return see_other(f"/wallet/rpl/{application_id}")
