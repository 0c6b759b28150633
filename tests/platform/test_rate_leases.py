"""Rate limits at high rates: processes draw leases from the shared count (services/ratelimit.py)
and never allow more than the quota between them."""

from __future__ import annotations

from sqlalchemy import select

from microcred.db.session import transaction
from microcred.db.tables import ApiToken, RateCount
from microcred.services import ratelimit
from microcred.services.app import App
from microcred.services.providers import create_api_token
from tests.platform.conftest import make_org, make_settings, staff


def test_two_processes_share_one_quota_through_leases(platform: App, tmp_path, monkeypatch):
    org = make_org(platform, "acme")
    with transaction(platform.sessions) as session:
        token = create_api_token(platform, session, staff(platform, org.owner_id), "load")
        session.scalars(select(ApiToken)).one().per_minute = 400  # leases of 20
    other = App.start(make_settings(platform.settings.database_url, tmp_path / "b"))
    draws = []
    real = ratelimit._draw
    monkeypatch.setattr(ratelimit, "_draw", lambda *a: draws.append(1) or real(*a))
    try:
        moment = platform.now()
        for app in (platform, other):
            monkeypatch.setattr(app, "now", lambda: moment)
        answers = [
            ratelimit.check(app, "verify", token, "127.0.0.1").allowed
            for _ in range(300)
            for app in (platform, other)
        ]
    finally:
        other.engine.dispose()
    allowed = sum(answers)
    assert 400 - 2 * 20 <= allowed <= 400  # never more; at most a lease per process unspent
    assert answers[-10:] == [False] * 10
    refused = len(answers) - allowed
    assert len(draws) - refused <= 400 // 20 + 2  # one draw per 20 allowed (refusals: one each)
    with transaction(platform.sessions, readonly=True) as session:
        counted = session.scalars(select(RateCount.count)).one()
    assert counted >= allowed


def test_a_small_quota_is_counted_request_by_request(platform: App):
    answers = [ratelimit.check(platform, "upload", None, "198.51.100.7") for _ in range(3)]
    quota = platform.settings.rate_anonymous
    assert all(a.allowed for a in answers)
    assert [a.remaining for a in answers][:2] == [quota - 1, quota - 2] or quota >= 20
