"""Every platform URL that appears anywhere resolves (issue 14, acceptance 1): a crawler over the
demo follows the links in HTML pages (as a visitor, a learner and the provider's owner) and the
platform URLs and did:web identifiers inside every JSON document it meets (credentials, DID
documents, status lists, the registry, accreditations), plus the URL in each certificate's QR
code; it finds none broken. Achievement identifiers answer the OB 3.0 ``Achievement``."""

from __future__ import annotations

import io
import json
import re
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import pypdf
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from microcred.services import demo
from microcred.services.app import App
from tests.platform.conftest import BASE_URL, signin
from tests.platform.test_wallet import _signup

HOST = urlsplit(BASE_URL).netloc
ACHIEVEMENT = re.compile(r"^/providers/[^/]+/definitions/[^/]+/v\d+$")
SKIP = re.compile(r"^/(signout|account/signout|dev/outbox|metrics)")  # not documents


class Links(HTMLParser):
    """href and src of links, images, scripts and stylesheets (forms are not links: a search
    form's address with nothing filled in is a page the links already reach)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("a", "link") and values.get("href"):
            self.found.append(str(values["href"]))
        elif tag in ("img", "script") and values.get("src"):
            self.found.append(str(values["src"]))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def did_web_url(did: str) -> str | None:
    """The DID document's URL of a did:web identifier (fragment dropped), per did:web."""
    if not did.startswith("did:web:"):
        return None
    parts = [unquote(p) for p in did.split("#", 1)[0][len("did:web:") :].split(":")]
    path = "/".join(parts[1:]) + "/did.json" if len(parts) > 1 else ".well-known/did.json"
    return f"http://{parts[0]}/{path}"


class Crawler:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.seen: set[str] = set()
        self.queue: deque[tuple[str, str]] = deque()  # (path, where it was found)
        self.broken: list[str] = []
        self.achievements: set[str] = set()
        self.fetched = 0

    def add(self, url: str, found_in: str) -> None:
        if url.startswith(("did:web:",)):
            resolved = did_web_url(url)
            if resolved is None:
                return
            url = resolved
        base = BASE_URL + (found_in if found_in.startswith("/") else "/")
        absolute = urljoin(base, url)
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or parts.netloc != HOST:
            return  # other hosts, mailto:, data:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if SKIP.match(parts.path) or path in self.seen:
            return
        self.seen.add(path)
        self.queue.append((path, found_in))

    def run(self, limit: int = 1500) -> None:
        while self.queue:
            assert self.fetched < limit, "the crawl does not end"
            path, found_in = self.queue.popleft()
            self.fetched += 1
            response = self.client.get(path)
            if response.status_code >= 400:
                self.broken.append(f"{path} -> {response.status_code} (linked from {found_in})")
                continue
            kind = response.headers.get("content-type", "")
            if "html" in kind:
                parser = Links()
                parser.feed(response.text)
                for link in parser.found:
                    self.add(link, path)
            elif "json" in kind:
                lines = response.text.splitlines() if "jsonl" in kind else [response.text]
                for value in _strings([json.loads(line) for line in lines if line.strip()]):
                    if value.startswith((BASE_URL, "did:web:")):
                        self.add(value, path)
            if ACHIEVEMENT.match(urlsplit(path).path):
                self.achievements.add(urlsplit(path).path)


def _qr_urls(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [
        result.text
        for page in reader.pages
        for image in page.images
        for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))
    ]


def test_every_platform_url_in_the_demo_resolves(platform: App, wired: TestClient):
    login = demo.ensure_demo(platform)
    learner_email = demo.LEARNERS[1][1]  # a learner of the demo who signs up for a wallet
    crawlers = []

    # a visitor: the home page, and what credentials and their documents lead to
    visitor = Crawler(wired)
    visitor.add("/", "start")
    with platform.sessions() as session:
        from sqlalchemy import select

        from microcred.db.tables import Credential

        for (credential_id,) in session.execute(select(Credential.id)):
            visitor.add(f"/credentials/{credential_id}", "start")
            visitor.add(f"/credentials/{credential_id}.json", "start")
    visitor.add("/registry.json", "start")
    visitor.run()
    crawlers.append(visitor)

    # a learner's wallet (and each certificate's QR code), then the provider's own pages
    wired.cookies.clear()
    _signup(wired, platform, email=learner_email)
    learner = Crawler(wired)
    learner.add("/wallet", "start")
    learner.run()
    crawlers.append(learner)
    downloads = [p for p in learner.seen if p.endswith("/download.pdf")]
    assert downloads, "the wallet offers certificates"
    for path in downloads:
        for url in _qr_urls(wired.get(path).content):
            learner.add(url, f"QR code of {path}")
    learner.run()

    signin(wired, login.email, login.password)
    owner = Crawler(wired)
    owner.add("/dashboard", "start")
    owner.run()
    crawlers.append(owner)

    broken = [b for c in crawlers for b in c.broken]
    assert broken == []
    assert sum(c.fetched for c in crawlers) > 100  # the crawl really went through the demo

    # every achievement identifier met answers the OB 3.0 Achievement as JSON-LD
    wired.cookies.clear()
    achievements = set().union(*(c.achievements for c in crawlers))
    assert len(achievements) >= 3
    for path in achievements:
        response = wired.get(path, headers={"Accept": "application/ld+json"})
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("application/ld+json")
        document = json.loads(response.text)
        assert "Achievement" in document["type"]
        assert document["id"] == BASE_URL + path
