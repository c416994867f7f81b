"""scim2-tester's checks against the SCIM edge served over real HTTP (A10)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import ScimProvider
from scim2_tester import CheckResult, Status, check_server

from tests.fixtures.factories import make_account, make_operator
from tests.scim.helpers import scim_headers

pytestmark = pytest.mark.e2e


class _FreshAddresses(list[str]):
    """scim2-tester draws a value from a field's examples when it has some, else makes up a
    UUID. A member's userName is its email address: each draw here is a new address."""

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: Any) -> Any:
        return f"{uuid.uuid4()}@scim-tester.example"


def _check(base_url: str, headers: dict[str, str]) -> list[CheckResult]:
    # A generous timeout: the machine may be busy with other test runs.
    with httpx2.Client(base_url=base_url, headers=headers, timeout=60) as http:
        client = SyncSCIMClient(http)
        client.discover()
        # The models the server publishes, but with an address for every userName drawn.
        schemas = [s.model_copy(deep=True) for s in client.provider.schemas]
        for schema in schemas:
            for attribute in schema.attributes or []:
                if attribute.name == "userName":
                    # Past validation, which would copy it into a plain (empty) list.
                    attribute.__dict__["canonical_values"] = _FreshAddresses()
        client.provider = ScimProvider.from_discovery(
            schemas, client.provider.resource_types, client.provider.config
        )
        return check_server(client)


async def test_every_scim2_tester_check_succeeds(uow, live_server: str) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await scim_headers(s, acme)
    results = await asyncio.to_thread(_check, f"{live_server}/scim/v2", headers)
    failed = [
        f"{r.title} [{r.resource_type}]: {r.reason}" for r in results if r.status != Status.SUCCESS
    ]
    assert results
    assert failed == [], "\n".join(failed)
