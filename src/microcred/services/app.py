"""The application context: settings, database, and the verifier's network access."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from microcred.config import Settings
from microcred.db.session import make_engine, migrate, session_factory
from microcred.services.mail import Mailer, mailer_for
from microcred.vc.fetch import SafeFetcher, WebResolver
from microcred.vc.loader import DocumentLoader, conformance_loader, default_loader
from microcred.vc.memo import VerifyMemo
from microcred.vc.policy import Policy
from microcred.vc.status_list import BitstringStatusChecker


@dataclass
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    fetcher: SafeFetcher = field(default_factory=SafeFetcher)
    registries: list[Any] = field(default_factory=list)  # external StaticRegistry objects
    # canonical forms and schema findings, pure functions of a document (vc/memo.py)
    memo: VerifyMemo = field(default_factory=lambda: VerifyMemo(default_loader()))

    @classmethod
    def start(cls, settings: Settings, *, run_migrations: bool = True) -> App:
        engine = make_engine(settings.database_url)
        if run_migrations:
            migrate(engine)
        fetcher = SafeFetcher(settings.allow_http_hosts, ttl=0)
        app = cls(settings, engine, session_factory(engine), fetcher)
        if settings.conformance_contexts:
            app.memo = VerifyMemo(conformance_loader())
        return app

    @property
    def loader(self) -> DocumentLoader:
        """The contexts the platform reads: the vendored set, plus the W3C examples context
        when an operator enables conformance testing."""
        return conformance_loader() if self.settings.conformance_contexts else default_loader()

    @cached_property
    def mailer(self) -> Mailer:
        """Where email goes (``services.mail``): SMTP when configured, else the file outbox."""
        return mailer_for(self.settings)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def verification_policy(self) -> Policy:
        """What the platform's own verifier uses: did:web and status lists via the fetcher."""
        base = Policy(loader=self.loader, resolver=WebResolver(self.fetcher))
        return replace(base, status_checker=BitstringStatusChecker(self.fetcher, base))


def settle_memory() -> None:
    """For a server or worker process, once it is ready: what start-up built (contexts,
    schemas, templates, routes, tasks) lives as long as the process, so the garbage collector
    stops scanning it again and again. Without this, a full collection during a request that
    made many objects (a wallet of 1,000 credentials) cost over 100 ms at random (issue 13:
    that page's p95 went from 164 to 60 ms), and full collections took a fifth of a bulk
    worker's time. Not for tests, which build many applications."""
    gc.collect()
    gc.freeze()
