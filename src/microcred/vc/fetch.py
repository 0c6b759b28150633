"""The one way verification reaches the network: an allow-listed, time- and size-capped fetcher.

- https only; plain http only to ``host[:port]`` named in ``allow_http_hosts`` (development);
- the host is resolved here, every address must be public (no private, loopback, link-local,
  reserved or IPv4-mapped loopback addresses, however written: ``127.1``, ``2130706433``,
  ``0x7f000001``, ``[::1]``, ``::ffff:127.0.0.1``...), and the connection goes to the address that
  was checked (with the original host name for TLS and ``Host``), so DNS cannot change it between
  the check and the connection;
- redirects are followed by hand, at most ``max_redirects``, each hop checked the same way;
- a total deadline bounds slow servers (one byte a second is cut off), the body is capped at
  ``max_bytes`` whatever ``Content-Length`` says;
- successful answers are cached for ``ttl`` seconds.

Contexts are never fetched (``loader``); this serves did:web documents and status lists.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from microcred.i18n import N_
from microcred.vc.did import DidResolutionError
from microcred.vc.did_web import DID_WEB_PREFIX, did_web_to_url
from microcred.vc.errors import VcError
from microcred.vc.jsonsafe import parse_json
from microcred.vc.message import Message
from microcred.vc.multikey import DID_KEY_PREFIX, resolve_did_key

Resolve = Callable[[str, int], list[str]]


class FetchError(VcError):
    code = "fetch.refused"


def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchError(_cannot_resolve(host), "fetch.unresolvable") from exc
    return [str(info[4][0]) for info in infos]


def _cannot_resolve(host: str) -> Message:
    return Message(N_("cannot resolve %(host)s"), host=host)


def _answered(url: str, status: int) -> Message:
    return Message(N_("%(url)s answered HTTP %(status)s"), url=url, status=status)


def _too_large(url: str, limit: int) -> Message:
    return Message(N_("%(url)s is larger than %(limit)s bytes"), url=url, limit=limit)


def _too_slow(url: str, timeout: float) -> Message:
    return Message(N_("%(url)s took longer than %(seconds)s s"), url=url, seconds=f"{timeout:g}")


# IANA special-purpose ranges (IPv4 and IPv6 registries) that Python's ``is_global`` lets
# through, and the IPv6 transition forms that carry an IPv4 address we would not check (6to4,
# Teredo inside 2001::/23, local-use NAT64): never fetched, whatever they embed.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)
        "fec0::/10",  # site-local (deprecated, still routed on some networks)
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(address: str) -> bool:
    """Whether ``address`` is an ordinary public unicast address. IPv4 carried inside IPv6
    (mapped, compatible, NAT64) is judged as that IPv4 address."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0]
    )
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped
        if embedded is None and (ip in _NAT64 or (int(ip) >> 32 == 0 and int(ip) > 1)):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)  # NAT64 or IPv4-compatible
        if embedded is not None:
            ip = embedded
    if any(ip in network for network in _NOT_PUBLIC):
        return False
    return bool(ip.is_global) and not ip.is_multicast


class SafeFetcher:
    def __init__(
        self,
        allow_http_hosts: Iterable[str] = (),
        *,
        timeout: float = 5.0,
        max_bytes: int = 1024 * 1024,
        max_redirects: int = 3,
        ttl: float = 300.0,
        resolve: Resolve = system_resolve,
        opener: Callable[[str], tuple[int, bytes]] | None = None,
    ) -> None:
        self.allow_http_hosts = frozenset(allow_http_hosts)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.ttl = ttl
        self._resolve = resolve
        self._opener = opener  # (url) -> (status, body): for an in-process app in tests
        self._cache: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        return self.fetch(url)

    def fetch(self, url: str) -> bytes:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(url)
        if cached and cached[0] > now:
            return cached[1]
        body = self._opened(url) if self._opener else self._follow(url)
        if self.ttl > 0:
            with self._lock:
                self._cache[url] = (now + self.ttl, body)
        return body

    def _opened(self, url: str) -> bytes:
        assert self._opener is not None
        self._target(url, resolve=False)
        code, body = self._opener(url)
        if code != 200:
            raise FetchError(_answered(url, code), "fetch.status")
        if len(body) > self.max_bytes:
            raise FetchError(_too_large(url, self.max_bytes), "fetch.too_large")
        return body

    def _target(self, url: str, resolve: bool = True) -> tuple[str, str, int, str]:
        """Check a URL; return (scheme, host, port, address to connect to)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(
                Message(N_("only https URLs can be fetched, not %(url)s"), url=repr(url)),
                "fetch.scheme",
            )
        if parts.username or parts.password:
            raise FetchError(Message(N_("URLs with credentials are refused")), "fetch.scheme")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError(
                Message(N_("bad port in %(url)s"), url=repr(url)), "fetch.scheme"
            ) from exc
        allowed = parts.netloc in self.allow_http_hosts
        if parts.scheme == "http" and not allowed:
            raise FetchError(
                Message(N_("plain http is not allowed for %(host)s"), host=parts.netloc),
                "fetch.scheme",
            )
        host = parts.hostname
        if not resolve:
            return parts.scheme, host, port, host
        addresses = self._resolve(host, port)
        if not addresses:
            raise FetchError(_cannot_resolve(host), "fetch.unresolvable")
        if not allowed:
            for address in addresses:
                if not is_public(address):
                    raise FetchError(
                        Message(
                            N_("%(host)s resolves to a non-public address (%(address)s)"),
                            host=host,
                            address=address,
                        ),
                        "fetch.private",
                    )
        return parts.scheme, host, port, addresses[0]

    def _follow(self, url: str) -> bytes:
        deadline = time.monotonic() + self.timeout
        for _hop in range(self.max_redirects + 1):
            scheme, host, port, address = self._target(url)
            status, location, body = self._get(url, scheme, host, port, address, deadline)
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            if status != 200:
                raise FetchError(_answered(url, status), "fetch.status")
            return body
        raise FetchError(
            Message(N_("more than %(num)d redirects"), num=self.max_redirects), "fetch.redirects"
        )

    def _get(
        self, url: str, scheme: str, host: str, port: int, address: str, deadline: float
    ) -> tuple[int, str | None, bytes]:
        parts = urlsplit(url)
        literal = f"[{address}]" if ":" in address else address
        pinned = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        headers = {"Host": parts.netloc, "Accept": "application/json, */*;q=0.5"}
        remaining = max(0.1, deadline - time.monotonic())
        extensions: dict[str, Any] = {"sni_hostname": host} if scheme == "https" else {}
        try:
            with (
                httpx.Client(
                    timeout=min(self.timeout, remaining), follow_redirects=False
                ) as client,
                client.stream("GET", pinned, headers=headers, extensions=extensions) as response,
            ):
                if response.status_code in (301, 302, 303, 307, 308):
                    return response.status_code, response.headers.get("location"), b""
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(_too_large(url, self.max_bytes), "fetch.too_large")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_raw():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(_too_large(url, self.max_bytes), "fetch.too_large")
                    if time.monotonic() > deadline:
                        raise FetchError(_too_slow(url, self.timeout), "fetch.timeout")
                    chunks.append(chunk)
                return response.status_code, None, b"".join(chunks)
        except httpx.TimeoutException as exc:
            raise FetchError(_too_slow(url, self.timeout), "fetch.timeout") from exc
        except httpx.HTTPError as exc:
            raise FetchError(
                Message(N_("cannot fetch %(url)s: %(error)s"), url=url, error=type(exc).__name__),
                "fetch.failed",
            ) from exc


class WebResolver:
    """did:key locally; did:web and https-URL controller documents (CID 1.0, the style of the
    OB 3.0 implementation guide's signed examples) through the safe fetcher (http only for
    allow-listed hosts)."""

    def __init__(self, fetcher: SafeFetcher) -> None:
        self._fetcher = fetcher

    def resolve(self, did: str) -> dict[str, Any]:
        if did.startswith(DID_KEY_PREFIX):
            return resolve_did_key(did)
        if did.startswith(("https://", "http://")):
            return self._fetch_document(did, did, "controller document")
        if not did.startswith(DID_WEB_PREFIX):
            method = did.split(":", 2)[1] if did.count(":") >= 2 else did
            raise DidResolutionError(
                Message(
                    N_("DID method %(method)s of %(did)s is not supported"),
                    method=repr(method),
                    did=did,
                )
            )
        url = did_web_to_url(did)
        host = urlsplit(url).netloc
        if host in self._fetcher.allow_http_hosts:
            url = "http://" + url[len("https://") :]
        return self._fetch_document(url, did, "DID document")

    def _fetch_document(self, url: str, identifier: str, what: str) -> dict[str, Any]:
        try:
            document = parse_json(self._fetcher.fetch(url), max_bytes=self._fetcher.max_bytes)
        except VcError as exc:
            raise DidResolutionError(
                Message(
                    N_("cannot resolve %(identifier)s: %(reason)s"),
                    identifier=identifier,
                    reason=exc.message,
                )
            ) from exc
        if not isinstance(document, dict) or document.get("id") != identifier:
            template = (
                N_("the document at %(url)s is not the DID document of %(identifier)s")
                if what == "DID document"
                else N_("the document at %(url)s is not the controller document of %(identifier)s")
            )
            raise DidResolutionError(Message(template, url=url, identifier=identifier))
        return document
