"""Documents other hosts publish (DID documents, status lists), fetched once and shared by every
process through the database until they expire (ADR 0022). Fetching itself stays with the safe
fetcher: allow-list, time and size limits."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from microcred.db.session import reading, transaction
from microcred.db.tables import FetchedDocument
from microcred.services.app import App
from microcred.services.verdicts import Reads
from microcred.vc.fetch import SafeFetcher

LIFETIME = timedelta(minutes=5)


class SharedFetcher:
    """``fetch(url)``: the stored copy while it is fresh, else the safe fetcher's answer, noted in
    the verification's reads and stored by :func:`keep` once the verification is over (the
    verification may run inside a caller's transaction). A failed fetch marks the reads unsure
    (the result is not kept)."""

    def __init__(self, app: App, inner: SafeFetcher, reads: Reads | None = None) -> None:
        self._app = app
        self._inner = inner
        self._reads = reads or Reads()

    def __call__(self, url: str) -> bytes:
        return self.fetch(url)

    def fetch(self, url: str) -> bytes:
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        now = self._app.now()
        with reading(self._app.sessions) as session:
            row = session.get(FetchedDocument, digest)
            if row is not None and row.url == url and row.expires_at > now:
                self._reads.fetched(row.expires_at)
                return bytes(row.body)
        try:
            body = self._inner.fetch(url)
        except Exception:
            self._reads.unsure = True
            raise
        expires = now + LIFETIME
        self._reads.fetched(expires)
        self._reads.documents[url] = (body, expires)
        return body


def keep(app: App, reads: Reads) -> None:
    """Store the documents a verification fetched, for every process (its own transaction)."""
    if not reads.documents:
        return
    insert = pg_insert if app.engine.dialect.name == "postgresql" else sqlite_insert
    with transaction(app.sessions) as session:
        for url, (body, expires) in sorted(reads.documents.items()):
            values = {
                "url_digest": hashlib.sha256(url.encode("utf-8")).hexdigest(),
                "url": url,
                "body": body,
                "expires_at": expires,
            }
            session.execute(
                insert(FetchedDocument)
                .values(**values)
                .on_conflict_do_update(index_elements=[FetchedDocument.url_digest], set_=values)
            )
        session.execute(delete(FetchedDocument).where(FetchedDocument.expires_at < app.now()))
