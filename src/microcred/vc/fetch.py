"""The one way verification reaches the network: an allow-listed, time- and size-capped fetcher.

- https only; plain http only to hosts named in ``allow_http_hosts`` (development);
- hosts resolving to private, loopback, link-local or reserved addresses are refused unless the
  host is allow-listed;
- no redirects are followed; a response larger than ``max_bytes`` is cut off and refused;
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
from urllib.parse import urlsplit

import httpx

from microcred.vc.did import DidResolutionError
from microcred.vc.did_web import DID_WEB_PREFIX, did_web_to_url
from microcred.vc.errors import VcError
from microcred.vc.jsonsafe import parse_json
from microcred.vc.multikey import DID_KEY_PREFIX, resolve_did_key


class FetchError(VcError):
    code = "fetch.refused"


class SafeFetcher:
    def __init__(
        self,
        allow_http_hosts: Iterable[str] = (),
        *,
        timeout: float = 5.0,
        max_bytes: int = 1024 * 1024,
        ttl: float = 300.0,
        opener: Callable[[str], tuple[int, bytes]] | None = None,
    ) -> None:
        self.allow_http_hosts = frozenset(allow_http_hosts)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.ttl = ttl
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
        self._check(url)
        body = self._get(url)
        with self._lock:
            self._cache[url] = (now + self.ttl, body)
        return body

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def _check(self, url: str) -> None:
        parts = urlsplit(url)
        host = parts.netloc
        allowed = host in self.allow_http_hosts
        if parts.scheme == "http" and not allowed:
            raise FetchError(f"plain http is not allowed for {host}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"only https URLs can be fetched, not {url!r}")
        if parts.username or parts.password:
            raise FetchError("URLs with credentials are refused")
        if allowed:
            return
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchError(f"cannot resolve {parts.hostname}") from exc
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                raise FetchError(f"{parts.hostname} resolves to a non-public address")

    def _get(self, url: str) -> bytes:
        if self._opener is not None:
            code, body = self._opener(url)
            if code != 200:
                raise FetchError(f"{url} answered HTTP {code}")
            if len(body) > self.max_bytes:
                raise FetchError(f"{url} is larger than {self.max_bytes} bytes")
            return body
        try:
            with (
                httpx.Client(timeout=self.timeout, follow_redirects=False) as client,
                client.stream("GET", url, headers={"Accept": "application/json"}) as response,
            ):
                if response.status_code != 200:
                    raise FetchError(f"{url} answered HTTP {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"{url} is larger than {self.max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {type(exc).__name__}") from exc


class WebResolver:
    """did:key locally, did:web through the safe fetcher (http for allow-listed hosts)."""

    def __init__(self, fetcher: SafeFetcher) -> None:
        self._fetcher = fetcher

    def resolve(self, did: str) -> dict[str, Any]:
        if did.startswith(DID_KEY_PREFIX):
            return resolve_did_key(did)
        if not did.startswith(DID_WEB_PREFIX):
            raise DidResolutionError(f"DID method of {did} is not supported")
        url = did_web_to_url(did)
        host = urlsplit(url).netloc
        if host in self._fetcher.allow_http_hosts:
            url = "http://" + url[len("https://") :]
        try:
            document = parse_json(self._fetcher.fetch(url), max_bytes=self._fetcher.max_bytes)
        except VcError as exc:
            raise DidResolutionError(f"cannot resolve {did}: {exc.message}") from exc
        if not isinstance(document, dict) or document.get("id") != did:
            raise DidResolutionError(f"the document at {url} is not the DID document of {did}")
        return document
