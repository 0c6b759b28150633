"""Outgoing email: one ``Mailer`` interface, the sender chosen by configuration (the model is
pypi/warehouse's ``IEmailSender``).

- :class:`SmtpMailer` (``MICROCRED_SMTP_URL``): smtplib with TLS (``smtps://`` or STARTTLS, the
  system's CA store via ``ssl.create_default_context``), authentication and timeouts. Production
  refuses to start without it (``config.load_settings``).
- :class:`FileOutbox`: development and tests only; each message is one ``.eml`` file in
  ``DATA_DIR/outbox``, mode 0600 in a 0700 folder (the messages carry one-time links).

Messages are built by :func:`compose`: plain text and HTML alternatives rendered from
``mail_templates/`` (their own Jinja2 environment, HTML autoescaped, gettext), ``From`` naming the
provider when the mail is on its behalf, and a ``Message-ID`` derived from what causes the mail, so
a retry of the same cause never sends a different id. Services queue messages with
``notify.queue``: a ``mail.send`` job in the same transaction, retried with backoff
(``notify.py``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import smtplib
import ssl
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.charset import BASE64, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import markupsafe

from microcred.config import Settings, SmtpTarget, parse_smtp_url
from microcred.i18n import _, current, install

TEMPLATES = Path(__file__).resolve().parent / "mail_templates"


class MailError(Exception):
    """A message could not be handed to the mail server. The message names the server and the
    reason, never the credentials."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message as it goes on the wire (CRLF line ends) with its envelope. A queued message is
    kept in this form: sending reads only its headers, never parses the whole message again."""

    raw: bytes
    sender: str
    recipients: tuple[str, ...]
    message_id: str

    @classmethod
    def of(cls, message: Outgoing | Message) -> Outgoing:
        return message if isinstance(message, Outgoing) else cls.from_bytes(wire_bytes(message))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Outgoing:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        return cls(
            raw,
            parseaddr(str(headers["From"] or ""))[1],
            tuple(a for _n, a in getaddresses([str(v) for v in headers.get_all("To", [])]) if a),
            str(headers["Message-ID"] or ""),
        )


class _WirePolicy(policy.Compat32):
    """The MIME classes' policy with SMTP's line ends. ``compose`` writes every header value as
    one line of ASCII (encoded words already folded with CRLF), so those are written as they
    are: compat32 re-encodes each header through ``Header`` (a third of a message's cost, and
    a bulk upload composes one message per row). Anything else is folded by compat32."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if isinstance(value, str) and value.isascii():
            unfolded = value.replace("\r\n ", "")
            if "\r" not in unfolded and "\n" not in unfolded:
                return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE = _WirePolicy(linesep="\r\n", max_line_length=None)


def wire_bytes(message: Message) -> bytes:
    """The message as it goes on the wire (CRLF line ends)."""
    if isinstance(message, EmailMessage):
        return message.as_bytes(policy=policy.SMTP)
    return message.as_bytes(policy=_WIRE)


class Mailer(ABC):
    """Where outgoing messages go."""

    def send(self, message: Outgoing | Message) -> None:
        """Hand one message over for delivery; raise :class:`MailError` when that fails."""
        self.send_outgoing([Outgoing.of(message)])

    def send_many(self, messages: list[Outgoing | Message]) -> None:
        """Hand several over, in order; raise :class:`MailError` at the first that fails."""
        self.send_outgoing([Outgoing.of(m) for m in messages])

    @abstractmethod
    def send_outgoing(self, messages: list[Outgoing]) -> None:
        """Hand messages over as they are, in order; :class:`MailError` at the first failure."""


class SmtpMailer(Mailer):
    def __init__(self, target: SmtpTarget, *, local_hostname: str | None = None) -> None:
        self.target = target
        self.local_hostname = local_hostname

    def __repr__(self) -> str:
        return f"SmtpMailer({self.target.host}:{self.target.port}, tls={self.target.tls})"

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        if t.tls == "smtps":
            return smtplib.SMTP_SSL(
                t.host,
                t.port,
                local_hostname=self.local_hostname,
                timeout=t.timeout,
                context=ssl.create_default_context(),
            )
        smtp = smtplib.SMTP(t.host, t.port, local_hostname=self.local_hostname, timeout=t.timeout)
        try:
            if t.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send_outgoing(self, messages: list[Outgoing]) -> None:
        """One connection for all of them (a bulk chunk's messages)."""
        t = self.target
        if not messages:
            return
        try:
            with self._connect() as smtp:
                if t.username is not None:
                    smtp.login(t.username, t.password or "")
                for message in messages:
                    international = not all(
                        a.isascii() for a in (message.sender, *message.recipients)
                    )
                    refused = smtp.sendmail(
                        message.sender,
                        list(message.recipients),
                        message.raw,
                        mail_options=["SMTPUTF8"] if international else [],
                    )
                    if refused:
                        raise MailError(
                            f"the mail server {t.host}:{t.port} refused "
                            f"{', '.join(sorted(refused))}"
                        )
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"the mail server {t.host}:{t.port} refused the login of user "
                f"{t.username!r} ({exc.smtp_code}); check MICROCRED_SMTP_URL"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError(
                f"the mail server {t.host}:{t.port} refused every recipient: "
                f"{', '.join(exc.recipients)}"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise MailError(
                f"the mail server {t.host}:{t.port} answered {exc.smtp_code}: "
                f"{_reply_text(exc.smtp_error)}"
            ) from None
        except ssl.SSLError as exc:
            raise MailError(f"TLS with the mail server {t.host}:{t.port} failed: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(
                f"could not send through the mail server {t.host}:{t.port}: "
                f"{type(exc).__name__}: {exc}"
            ) from None


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return text[:300]


class FileOutbox(Mailer):
    """Development and tests: messages as ``.eml`` files that only the platform's user reads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"FileOutbox({self.folder})"

    def _ready(self) -> Path:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)  # also an outbox made by an older version
        return self.folder

    def send_outgoing(self, messages: list[Outgoing]) -> None:
        folder = self._ready()
        for message in messages:
            digest = hashlib.sha256(message.message_id.encode()).hexdigest()[:12]
            name = f"{time.time_ns():020d}-{digest}-{os.getpid()}.eml"
            try:
                fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(message.raw.replace(b"\r\n", b"\n"))  # a file's line ends
            except OSError as exc:
                raise MailError(f"could not write to the outbox {folder}: {exc}") from None

    def files(self) -> list[Path]:
        """The stored messages, oldest first."""
        if not self.folder.exists():
            return []
        return sorted(self.folder.glob("*.eml"))


def sender(settings: Settings) -> tuple[str, str]:
    """The platform's sender as (display name, address)."""
    name, address = parseaddr(settings.mail_from) if settings.mail_from else ("", "")
    if "@" not in address:
        address = f"no-reply@{urlsplit(settings.base_url).hostname or 'localhost'}"
    return name or "microcred", address


def mailer_for(settings: Settings) -> Mailer:
    """The configured sender: SMTP when ``MICROCRED_SMTP_URL`` is set, else (development and
    tests only) the file outbox."""
    if settings.smtp_url:
        return SmtpMailer(
            parse_smtp_url(settings.smtp_url, production=settings.production),
            local_hostname=urlsplit(settings.base_url).hostname,
        )
    if settings.production:  # load_settings refuses this already; a hand-made Settings too
        raise MailError("MICROCRED_SMTP_URL must be set in production")
    return FileOutbox(settings.data_dir / "outbox")


def message_id(settings: Settings, purpose: str, subject_id: object, cause: str = "") -> str:
    """``<purpose.subject-id.digest@host>``: the same cause always gives the same id. The digest
    is keyed with the platform's secret, so it reveals nothing of ``cause`` (which may be a
    one-time token)."""
    digest = hmac.new(
        settings.secret_key.encode(),
        f"{purpose}\x00{subject_id}\x00{cause}".encode(),
        hashlib.sha256,
    ).hexdigest()[:24]
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(subject_id))[:64]
    host = urlsplit(settings.base_url).hostname or "localhost"
    return f"<{purpose}.{safe}.{digest}@{host}>"


@functools.cache
def environment() -> jinja2.Environment:
    """Mail templates: HTML autoescaped, text not; ``{{ _("…") }}`` through gettext."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    install(env)
    return env


def compose(
    settings: Settings,
    *,
    to: str,
    subject: str,
    template: str,
    purpose: str,
    subject_id: object,
    cause: str = "",
    provider: Any = None,
    when: datetime | None = None,
    **context: Any,
) -> Outgoing:
    """One message from ``template`` (``NAME.txt`` and ``NAME.html``). ``provider`` (a provider
    row) when the mail is on its behalf: its name in ``From`` and the text, its contact address
    as ``Reply-To``. ``purpose``, ``subject_id`` and ``cause`` make the ``Message-ID``."""
    values = {**_common(settings, provider), "subject": subject, **context}
    env = environment()
    text = env.get_template(f"{template}.txt").render(values)
    html = env.get_template(f"{template}.html").render(values)
    return _message(settings, to, subject, text, html, purpose, subject_id, cause, provider, when)


@dataclass(frozen=True, slots=True)
class Each:
    """One of many messages from one template: its recipient, Message-ID parts and the
    template's values that are its own (text only)."""

    to: str
    subject: str
    subject_id: object
    cause: str
    values: dict[str, str]


# Templates whose per-message values appear only as ``{{ value }}`` or as gettext arguments
# (no test, filter or loop on them): :func:`compose_many` renders them once for many messages
# and puts each message's values in (escaped in the HTML, as Jinja escapes them). The unit
# tests hold the result equal to rendering each message on its own.
UNIFORM = frozenset({"credential_issued"})
_TOKEN = f"mcv{secrets.token_hex(8)}n"


def compose_many(
    settings: Settings,
    *,
    template: str,
    purpose: str,
    messages: list[Each],
    provider: Any = None,
    when: datetime | None = None,
) -> list[Outgoing]:
    """:func:`compose` for many messages of one template (a bulk chunk's): a template in
    :data:`UNIFORM` is rendered once, not once per message (a tenth of a chunk's time)."""
    if not messages:
        return []
    names = sorted(messages[0].values)
    uniform = template in UNIFORM and all(
        sorted(m.values) == names and all(type(v) is str for v in m.values.values())
        for m in messages
    )
    if not uniform:
        return [
            compose(
                settings,
                to=m.to,
                subject=m.subject,
                template=template,
                purpose=purpose,
                subject_id=m.subject_id,
                cause=m.cause,
                provider=provider,
                when=when,
                **m.values,
            )
            for m in messages
        ]
    tokens = {name: f"{_TOKEN}{i}x" for i, name in enumerate(["subject", *names])}
    env = environment()
    values = {**_common(settings, provider), **tokens}
    text = env.get_template(f"{template}.txt").render(values)
    html = env.get_template(f"{template}.html").render(values)
    out = []
    for m in messages:
        own = {"subject": m.subject, **m.values}
        text_i, html_i = text, html
        for name, token in tokens.items():
            text_i = text_i.replace(token, own[name])
            html_i = html_i.replace(token, str(markupsafe.escape(own[name])))
        out.append(
            _message(
                settings,
                m.to,
                m.subject,
                text_i,
                html_i,
                purpose,
                m.subject_id,
                m.cause,
                provider,
                when,
            )
        )
    return out


def _common(settings: Settings, provider: Any) -> dict[str, Any]:
    platform_name = sender(settings)[0]
    return {
        "base_url": settings.base_url,
        "platform": platform_name,
        "provider_name": provider.legal_name if provider is not None else None,
        "language": current(),  # the reader's (notify.reader_language)
    }


def _message(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    html: str,
    purpose: str,
    subject_id: object,
    cause: str,
    provider: Any,
    when: datetime | None,
) -> Outgoing:
    platform_name, address = sender(settings)
    provider_name = provider.legal_name if provider is not None else None
    display = (
        _("%(provider)s via %(platform)s") % {"provider": provider_name, "platform": platform_name}
        if provider_name
        else platform_name
    )
    # every header value is one line (a value with a line break would be a header injection)
    to_line = _one_line(to)
    headers = [("From", _address("From", display, address)), ("To", to_line)]
    contact = getattr(provider, "contact_email", None)
    if contact:
        headers.append(("Reply-To", _address("Reply-To", provider_name or "", contact)))
    headers.append(("Subject", _encoded("Subject", subject)))
    if when is not None:
        headers.append(("Date", format_datetime(when)))
    identifier = message_id(settings, purpose, subject_id, cause)
    headers += [("Message-ID", identifier), ("Auto-Submitted", "auto-generated")]  # RFC 3834
    # a boundary of our own ("=" only pads the end of base64 parts, never starts a line)
    boundary = f"==============={hashlib.sha256(identifier.encode()).hexdigest()[:24]}=="
    raw = _written(headers, boundary, text, html)
    if raw is None:
        raw = wire_bytes(_mime(headers, boundary, text, html))
    recipients = tuple(a for _n, a in getaddresses([to_line]) if a)
    return Outgoing(raw, _one_line(address), recipients, identifier)


_PART = (
    'Content-Type: text/{}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\n"
)


def _written(headers: list[tuple[str, str]], boundary: str, text: str, html: str) -> bytes | None:
    """The message's bytes written directly: byte for byte what the email package's generator
    writes for :func:`_mime` (a unit test holds them equal), at a tenth of its cost (a bulk
    upload writes one message per row). None when a header is not one line of ASCII (encoded
    words folded with CRLF aside): :func:`_mime` writes those."""
    lines = [f'Content-Type: multipart/alternative; boundary="{boundary}"', "MIME-Version: 1.0"]
    for name, value in headers:
        unfolded = value.replace("\r\n ", "")
        if not value.isascii() or "\r" in unfolded or "\n" in unfolded:
            return None
        lines.append(f"{name}: {value}")
    parts = [
        _PART.format(subtype).encode() + _base64_lines(body)
        for subtype, body in (("plain", text), ("html", html))
    ]
    separator = f"--{boundary}\r\n".encode()
    return b"".join(
        [
            "\r\n".join(lines).encode(),
            b"\r\n\r\n",
            separator,
            parts[0],
            b"\r\n",
            separator,
            parts[1],
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


def _base64_lines(body: str) -> bytes:
    """As ``email.base64mime.body_encode``: lines of 76 characters, each ended by CRLF."""
    return base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n")


def _mime(headers: list[tuple[str, str]], boundary: str, text: str, html: str) -> Message:
    """The message as the email package's compat32 MIME classes build it."""
    message = MIMEMultipart("alternative")
    for name, value in headers:
        message[name] = value
    message.set_boundary(boundary)
    message.attach(MIMEText(text, "plain", _UTF8))  # type: ignore[arg-type]  # a Charset works
    message.attach(MIMEText(html, "html", _UTF8))  # type: ignore[arg-type]
    return message


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = BASE64  # any line length; quoted-printable (pure Python) cost more


def _one_line(value: str) -> str:
    """A header value on one line: runs of white space, line breaks included, become one space."""
    return " ".join(str(value).split())


def _encoded(name: str, value: str) -> str:
    """A header value: plain ASCII as it is, other text as RFC 2047 encoded words, folded."""
    line = _one_line(value)
    if line.isascii():
        return line
    # 74: each folded line, and so each encoded word, stays within RFC 2047's 75 characters
    return str(Header(line, "utf-8", maxlinelen=74, header_name=name).encode(linesep="\r\n"))


def _address(header: str, name: str, address: str) -> str:
    name, address = _one_line(name), _one_line(address)
    if not name or name.isascii():
        return formataddr((name, address))
    return f"{_encoded(header, name)} <{address}>"
