"""Configuration from the environment (``MICROCRED_*``), refusing unsafe defaults in production.

- ``MICROCRED_ENV``: ``development`` (default), ``test`` or ``production``; production refuses
  generated secrets and plain-http base URLs.
- ``MICROCRED_DATA_DIR``: ``./data``; the SQLite file and development secrets live here.
- ``MICROCRED_DATABASE_URL``: SQLAlchemy URL; default ``sqlite:///DATA_DIR/microcred.db``;
  PostgreSQL as ``postgresql://...`` (psycopg 3).
- ``MICROCRED_BASE_URL``: ``http://127.0.0.1:8000``; did:web identifiers and status-list URLs
  derive from it.
- ``MICROCRED_KEK``: base64 of 32 bytes that encrypt signing keys at rest (development: generated
  into ``DATA_DIR/kek``, mode 0600).
- ``MICROCRED_SECRET_KEY``: signs session cookies (development: generated into ``DATA_DIR/secret``).
- ``MICROCRED_ALLOW_HTTP_HOSTS``: hosts a verifier may reach over plain http (development: the
  base URL's host when it is http).
- ``MICROCRED_REGISTRIES``: external trust registries the verifier also consults (files or URLs,
  comma-separated; microcred's format or the DCC issuer-registry format).
- ``MICROCRED_CONFORMANCE_CONTEXTS``: ``1`` lets the verifier and the VC API also read the W3C
  examples context (``https://www.w3.org/ns/credentials/examples/v2``), which the W3C test suites
  use; off by default (its vocabulary accepts any term).
- ``MICROCRED_SMTP_URL``: the mail server, ``smtp://user:pass@host:587?starttls=1`` (STARTTLS),
  ``smtps://user:pass@host:465`` (TLS from the start) or ``smtp://localhost:25`` (a local relay);
  ``timeout=SECONDS`` (default 10). Required in production; without it, development and tests
  write email as files into ``DATA_DIR/outbox`` (mode 0600 in a 0700 folder).
- ``MICROCRED_MAIL_FROM``: the sender, ``Name <address>``; default ``microcred
  <no-reply@HOST>`` (the base URL's host). Mail on a provider's behalf says "PROVIDER via Name".
- ``MICROCRED_LOG_FORMAT``: ``json`` (one JSON object per line; the default in production) or
  ``text`` (the default otherwise). ``MICROCRED_LOG_LEVEL``: ``INFO`` by default.
- ``MICROCRED_METRICS_TOKEN``: a bearer token (16 characters or more) that opens ``/metrics`` to
  other hosts; without it ``/metrics`` answers only on loopback. ``PROMETHEUS_MULTIPROC_DIR``
  (prometheus-client's own variable): set it when running several worker processes.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import TypedDict
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(Exception):
    """A setting that is missing or unsafe; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    database_url: str
    base_url: str
    kek: bytes = field(repr=False)
    secret_key: str = field(repr=False)
    allow_http_hosts: frozenset[str] = frozenset()
    registries: tuple[str, ...] = ()
    conformance_contexts: bool = False
    smtp_url: str | None = field(default=None, repr=False)  # may carry a password
    mail_from: str = ""
    log_format: str = "text"  # "json" or "text"
    log_level: str = "INFO"
    metrics_token: str | None = field(default=None, repr=False)
    # requests per minute to the public verify endpoints and uploads (services/ratelimit.py)
    rate_anonymous: int = 60  # per client address
    rate_token: int = 600  # per API token, unless the token carries its own quota

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def host(self) -> str:
        """``host[:port]`` of the base URL, as did:web encodes it."""
        return urlsplit(self.base_url).netloc


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class SmtpTarget:
    """A parsed ``MICROCRED_SMTP_URL``."""

    host: str
    port: int
    tls: str  # "smtps" (TLS from the start), "starttls" or "none" (loopback relays only)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0


def parse_smtp_url(url: str, *, production: bool = False) -> SmtpTarget:
    """Read ``MICROCRED_SMTP_URL``; the error messages never repeat the URL (it may carry a
    password)."""
    try:
        parts = urlsplit(url.strip())
        port_given = parts.port
    except ValueError:
        # not chained: the parser's own message can quote part of the password
        raise ConfigError(
            "MICROCRED_SMTP_URL is not a valid URL (percent-encode / # ? @ : in the password)"
        ) from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(
            "MICROCRED_SMTP_URL must be smtp://[user:pass@]host[:port][?starttls=1] or "
            "smtps://[user:pass@]host[:port]"
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise ConfigError(f"MICROCRED_SMTP_URL: unknown option {sorted(unknown)[0]!r}")
    flag = query.get("starttls", "0").lower()
    if flag not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError("MICROCRED_SMTP_URL: starttls must be 1 or 0")
    starttls = flag in ("1", "true", "yes")
    if parts.scheme == "smtps" and starttls:
        raise ConfigError("MICROCRED_SMTP_URL: smtps:// is TLS already; drop starttls")
    try:
        timeout = float(query.get("timeout", "10"))
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 300:
        raise ConfigError("MICROCRED_SMTP_URL: timeout must be a number of seconds (1-300)")
    tls = "smtps" if parts.scheme == "smtps" else "starttls" if starttls else "none"
    host = parts.hostname
    if production and tls == "none" and host not in LOOPBACK:
        raise ConfigError(
            "MICROCRED_SMTP_URL must use TLS in production (smtps:// or ?starttls=1); "
            "plain smtp:// only reaches a relay on this host"
        )
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    port = port_given or (465 if tls == "smtps" else 587 if tls == "starttls" else 25)
    return SmtpTarget(host, port, tls, username, password, timeout)


def _secret_file(path: Path, make: int) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = base64.b64encode(secrets.token_bytes(make))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    return value


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _Observability(TypedDict):
    log_format: str
    log_level: str
    metrics_token: str | None


def _observability(env_vars: dict[str, str], production: bool) -> _Observability:
    """``MICROCRED_LOG_FORMAT``, ``MICROCRED_LOG_LEVEL``, ``MICROCRED_METRICS_TOKEN``."""
    log_format = env_vars.get("MICROCRED_LOG_FORMAT", "").strip().lower()
    log_format = log_format or ("json" if production else "text")
    if log_format not in ("json", "text"):
        raise ConfigError("MICROCRED_LOG_FORMAT must be json or text")
    log_level = env_vars.get("MICROCRED_LOG_LEVEL", "").strip().upper() or "INFO"
    if log_level not in _LOG_LEVELS:
        raise ConfigError(f"MICROCRED_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}")
    metrics_token = env_vars.get("MICROCRED_METRICS_TOKEN", "").strip() or None
    if metrics_token is not None and len(metrics_token) < 16:
        raise ConfigError("MICROCRED_METRICS_TOKEN must be 16 characters or more")
    return _Observability(log_format=log_format, log_level=log_level, metrics_token=metrics_token)


def strong_secret(text: str) -> bool:
    """At least 43 characters (32 random bytes as URL-safe base64) drawn from at least 16
    different characters: refuses short, repeated or word-like keys."""
    return len(text) >= 43 and len(set(text)) >= 16


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env_vars = dict(os.environ if environ is None else environ)
    env = env_vars.get("MICROCRED_ENV", "development")
    if env not in ("development", "production", "test"):
        raise ConfigError(f"MICROCRED_ENV must be development, test or production, not {env!r}")
    data_dir = Path(env_vars.get("MICROCRED_DATA_DIR", "data")).resolve()
    database_url = (
        env_vars.get("MICROCRED_DATABASE_URL") or f"sqlite:///{data_dir / 'microcred.db'}"
    )
    base_url = env_vars.get("MICROCRED_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError("MICROCRED_BASE_URL must be an http(s) origin, like https://example.org")
    production = env == "production"
    if production and parts.scheme != "https":
        raise ConfigError("MICROCRED_BASE_URL must use https in production (did:web needs it)")

    kek_text = env_vars.get("MICROCRED_KEK")
    secret_text = env_vars.get("MICROCRED_SECRET_KEY")
    if production and (not kek_text or not secret_text):
        raise ConfigError("MICROCRED_KEK and MICROCRED_SECRET_KEY must be set in production")
    if production and secret_text and not strong_secret(secret_text):
        raise ConfigError(
            "MICROCRED_SECRET_KEY must be at least 32 random bytes in production (it signs "
            "session cookies); generate one with: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    kek_raw = kek_text.encode() if kek_text else _secret_file(data_dir / "kek", 32)
    try:
        kek = base64.b64decode(kek_raw, validate=True)
    except ValueError as exc:
        raise ConfigError("MICROCRED_KEK must be base64") from exc
    if len(kek) != 32:
        raise ConfigError("MICROCRED_KEK must decode to 32 bytes")
    secret_key = secret_text or _secret_file(data_dir / "secret", 32).decode()

    allow = env_vars.get("MICROCRED_ALLOW_HTTP_HOSTS")
    if allow is not None:
        allow_hosts = frozenset(h.strip() for h in allow.split(",") if h.strip())
    elif not production and parts.scheme == "http":
        allow_hosts = frozenset({parts.netloc})
    else:
        allow_hosts = frozenset()
    registries = tuple(
        r.strip() for r in env_vars.get("MICROCRED_REGISTRIES", "").split(",") if r.strip()
    )
    conformance = env_vars.get("MICROCRED_CONFORMANCE_CONTEXTS", "").strip().lower()
    if conformance not in ("", "0", "1", "false", "true", "no", "yes"):
        raise ConfigError("MICROCRED_CONFORMANCE_CONTEXTS must be 1 or 0")
    smtp_url = env_vars.get("MICROCRED_SMTP_URL", "").strip() or None
    if smtp_url is None and production:
        raise ConfigError(
            "MICROCRED_SMTP_URL must be set in production (learners get their password-reset "
            "and confirmation links by email); e.g. smtp://user:pass@mail.example.org:587"
            "?starttls=1"
        )
    if smtp_url is not None:
        parse_smtp_url(smtp_url, production=production)
    mail_from = env_vars.get("MICROCRED_MAIL_FROM", "").strip() or formataddr(
        ("microcred", f"no-reply@{parts.hostname}")
    )
    if "@" not in parseaddr(mail_from)[1]:
        raise ConfigError("MICROCRED_MAIL_FROM must be an address, like Name <no-reply@host>")
    return Settings(
        env,
        data_dir,
        database_url,
        base_url,
        kek,
        secret_key,
        allow_hosts,
        registries,
        conformance_contexts=conformance in ("1", "true", "yes"),
        smtp_url=smtp_url,
        mail_from=mail_from,
        rate_anonymous=_per_minute(env_vars, "MICROCRED_RATE_ANONYMOUS", 60),
        rate_token=_per_minute(env_vars, "MICROCRED_RATE_TOKEN", 600),
        **_observability(env_vars, production),
    )


def _per_minute(env_vars: dict[str, str], name: str, default: int) -> int:
    text = env_vars.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise ConfigError(f"{name} must be a number of requests per minute, 1 to 1000000")
    return int(text)
