"""The caller cache: never stale for a change made in this process, bounded for any other."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, text

from chargegroups.app import create_app, dispose
from chargegroups.auth import caller_cache, repository
from chargegroups.auth import service as auth_service
from chargegroups.auth.caller_cache import CallerCache
from chargegroups.auth.subject import AuthSubject
from chargegroups.errors import Unauthenticated
from chargegroups.kit.clock import utcnow
from chargegroups.kit.secrets import hash_token
from chargegroups.models import Grant, User
from tests.fixtures.clock import FakeClock
from tests.fixtures.factories import bearer, make_account, make_operator, make_user

SUBJECT = AuthSubject(
    user_id="u",
    operator_id="o",
    account_id="a",
    is_operator_admin=False,
    admin_account_ids=frozenset(),
)


def test_an_entry_lives_for_its_seconds_and_never_past_the_tokens_expiry() -> None:
    clock = FakeClock()
    cache = CallerCache(2, clock=clock)
    now = utcnow()
    cache.put("h", SUBJECT, read_at_generation=caller_cache.generation(), expires_at=None)
    cache.put(
        "soon",
        SUBJECT,
        read_at_generation=caller_cache.generation(),
        expires_at=now + timedelta(seconds=1),
    )
    assert cache.get("h", now) is SUBJECT
    assert cache.get("soon", now) is SUBJECT
    assert cache.get("soon", now + timedelta(seconds=1)) is None  # the token expired
    clock.now += 2
    assert cache.get("h", now) is None
    assert len(cache) == 0


def test_an_entry_read_before_a_committed_change_is_a_miss() -> None:
    cache = CallerCache(60)
    stale = caller_cache.generation() - 1  # read before some commit changed a user
    cache.put("h", SUBJECT, read_at_generation=stale, expires_at=None)
    assert cache.get("h", utcnow()) is None


def test_zero_seconds_caches_nothing() -> None:
    cache = CallerCache(0)
    cache.put("h", SUBJECT, read_at_generation=caller_cache.generation(), expires_at=None)
    assert cache.get("h", utcnow()) is None


@given(st.lists(st.text(min_size=1, max_size=4), max_size=60))
def test_the_cache_never_holds_more_than_its_bound(hashes: list[str]) -> None:
    cache = CallerCache(60, max_entries=10)
    for h in hashes:
        cache.put(h, SUBJECT, read_at_generation=caller_cache.generation(), expires_at=None)
        assert len(cache) <= 10
    if hashes:
        assert cache.get(hashes[-1], utcnow()) is SUBJECT  # the newest is always kept


class _GatedRead:
    """A read of the caller that finishes when the test says, counting how often it began."""

    def __init__(self) -> None:
        self.began = 0
        self.go = asyncio.Event()
        self.error: Exception | None = None

    async def __call__(self) -> AuthSubject:
        self.began += 1
        await self.go.wait()
        if self.error is not None:
            raise self.error
        return SUBJECT


async def test_misses_together_share_one_read() -> None:
    cache, read = CallerCache(2), _GatedRead()
    waiters = [asyncio.ensure_future(cache.read_once("h", read)) for _ in range(5)]
    await asyncio.sleep(0)
    read.go.set()
    assert await asyncio.gather(*waiters) == [SUBJECT] * 5
    assert read.began == 1
    again = _GatedRead()
    again.go.set()
    assert await cache.read_once("h", again) is SUBJECT  # done reads are not kept
    assert again.began == 1


async def test_a_read_begun_before_a_committed_change_is_not_joined_after_it() -> None:
    cache, before, after = CallerCache(2), _GatedRead(), _GatedRead()
    first = asyncio.ensure_future(cache.read_once("h", before))
    await asyncio.sleep(0)
    caller_cache._bump(None)  # what a commit that changed a user, a grant or a token does
    second = asyncio.ensure_future(cache.read_once("h", after))
    await asyncio.sleep(0)
    before.go.set()
    after.go.set()
    await asyncio.gather(first, second)
    assert (before.began, after.began) == (1, 1)


async def test_a_waiter_that_goes_away_leaves_the_read_to_the_others() -> None:
    cache, read = CallerCache(2), _GatedRead()
    gone = asyncio.ensure_future(cache.read_once("h", read))
    staying = asyncio.ensure_future(cache.read_once("h", read))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    read.go.set()
    assert await staying is SUBJECT
    assert gone.cancelled()
    assert read.began == 1


async def test_a_failed_read_fails_every_waiter() -> None:
    cache, read = CallerCache(2), _GatedRead()
    read.error = Unauthenticated("Missing, expired or revoked credentials.")
    waiters = [asyncio.ensure_future(cache.read_once("h", read)) for _ in range(3)]
    await asyncio.sleep(0)
    read.go.set()
    for waiter in waiters:
        with pytest.raises(Unauthenticated):
            await waiter
    assert read.began == 1


async def test_requests_missing_together_read_the_caller_once_on_the_read_pool(
    uow, shared_app, monkeypatch
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        token = (await bearer(s, world.admin))["Authorization"].removeprefix("Bearer ")
    reads = []
    real = repository.live_token_subject_rows

    async def counted(*args, **options):  # type: ignore[no-untyped-def]
        reads.append(args)
        return await real(*args, **options)

    monkeypatch.setattr(repository, "live_token_subject_rows", counted)
    pool, cache = shared_app.state.read_pool, CallerCache(2)
    callers = await asyncio.gather(
        *(auth_service.authenticate(pool, token, cache) for _ in range(8))
    )
    assert {c.user_id for c in callers} == {world.admin.id}
    assert len(reads) == 1
    with pytest.raises(Unauthenticated):  # a bad token still fails each of its requests
        await asyncio.gather(
            *(auth_service.authenticate(pool, "cg_at_nope", cache) for _ in range(3))
        )


async def test_changes_committed_in_this_process_apply_at_once(uow, client, shared_app) -> None:
    """Grants, blocking and logout, each right after the caller was cached."""
    async with uow() as s:
        world = await make_operator(s)
        other = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, other, admin_of=(other,))
        headers = await bearer(s, admin)
        spare = await bearer(s, admin)
    accounts = await client.get(f"/api/v1/accounts/{other.id}", headers=headers)
    assert accounts.status_code == 200
    cached = shared_app.state.caller_cache
    assert cached.get(_hash(headers), utcnow()) is not None

    async with uow() as s:  # the grant goes (a bulk statement, not an object change)
        await s.execute(delete(Grant).where(Grant.user_id == admin.id))
    assert (await client.get(f"/api/v1/accounts/{other.id}", headers=headers)).status_code == 404

    async with uow() as s:
        (await s.get_one(User, admin.id)).blocked = True
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401

    async with uow() as s:
        (await s.get_one(User, admin.id)).blocked = False
    assert (await client.get("/api/v1/me", headers=spare)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=spare)).status_code == 204
    assert (await client.get("/api/v1/me", headers=spare)).status_code == 401


async def test_a_change_from_another_process_applies_within_the_cache_seconds(
    uow, app_settings
) -> None:
    """Another process's change (raw SQL here: no ORM event in this process sees it) is seen
    once the entry is older than ``caller_cache_seconds``."""
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    app = create_app(app_settings)
    clock = FakeClock()
    app.state.caller_cache = CallerCache(2, clock=clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/api/v1/me", headers=headers)).status_code == 200
            async with uow() as s:
                await s.execute(
                    text("UPDATE users SET blocked = :yes WHERE id = :id"),
                    {"yes": True, "id": world.admin.id},
                )
            assert (await http.get("/api/v1/me", headers=headers)).status_code == 200
            clock.now += 2
            assert (await http.get("/api/v1/me", headers=headers)).status_code == 401
    finally:
        await dispose(app)


def _hash(headers: dict[str, str]) -> str:
    return hash_token(headers["Authorization"].removeprefix("Bearer "))
