from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.message import Message

import httpx
import pytest
from aiosmtpd.controller import Controller

from chargegroups.app import create_app, dispose
from chargegroups.config import Settings
from chargegroups.onboarding import email
from chargegroups.onboarding.email import Mailer
from tests.console.helpers import console_login
from tests.fixtures.factories import bearer, make_account, make_operator
from tests.onboarding.helpers import emails_to, link_token


class Inbox:
    """What the test SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def client_with(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await email.wait_for_deliveries()
    await dispose(app)


@pytest.fixture
async def smtp_client(app_settings: Settings, smtp_server) -> AsyncIterator[httpx.AsyncClient]:
    settings = app_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{smtp_server[1]}"})
    async for http in client_with(settings):
        yield http


@pytest.fixture
async def broken_smtp_client(app_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings = app_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"})
    async for http in client_with(settings):
        yield http


async def invite(http, uow, email_address="ana@acme.example"):
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, name="Acme")
        headers = await bearer(s, world.admin)
    response = await http.post(
        f"/api/v1/accounts/{acme.id}/invitations", json={"email": email_address}, headers=headers
    )
    return response, headers


async def test_the_outbox_lists_every_email_newest_first_in_cursor_pages(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await bearer(s, world.admin)
    for n in range(3):
        await client.post(
            f"/api/v1/accounts/{acme.id}/invitations",
            json={"email": f"d{n}@acme.example"},
            headers=headers,
        )
    first = (await client.get("/api/v1/outbox?limit=2", headers=headers)).json()
    rest = (
        await client.get(f"/api/v1/outbox?limit=2&cursor={first['next_cursor']}", headers=headers)
    ).json()
    assert [m["to"] for m in first["items"] + rest["items"]] == [
        "d2@acme.example",
        "d1@acme.example",
        "d0@acme.example",
    ]
    assert rest["next_cursor"] is None
    item = first["items"][0]
    assert set(item) >= {"id", "to", "subject", "body_text", "created_at", "sent_at"}
    assert item["sent_at"] is None  # no SMTP configured: the outbox is where it stays


async def test_the_outbox_shows_only_the_callers_operator(uow, client) -> None:
    await invite(client, uow)
    async with uow() as s:
        other = await make_operator(s)
        headers = await bearer(s, other.admin)
    assert (await client.get("/api/v1/outbox", headers=headers)).json()["items"] == []


async def test_emails_are_delivered_over_smtp_and_marked_sent(
    uow, smtp_client, smtp_server
) -> None:
    response, _ = await invite(smtp_client, uow)
    assert response.status_code == 201
    await email.wait_for_deliveries()
    inbox, _ = smtp_server
    [message] = inbox.messages
    assert message["To"] == "ana@acme.example"
    assert "Acme" in message["Subject"]
    assert "http://testserver/invite/cg_inv_" in message.get_payload()
    async with uow() as s:
        [row] = await emails_to(s, "ana@acme.example")
    assert row.sent_at is not None and row.last_error is None


async def test_a_failing_smtp_server_records_the_error_and_the_request_succeeds(
    uow, broken_smtp_client
) -> None:
    response, _ = await invite(broken_smtp_client, uow)
    assert response.status_code == 201
    await email.wait_for_deliveries()
    async with uow() as s:
        [row] = await emails_to(s, "ana@acme.example")
    assert row.sent_at is None
    assert row.last_error


async def test_a_rolled_back_change_sends_no_email(uow, smtp_server) -> None:
    inbox, port = smtp_server
    mailer = Mailer(public_url="http://x", smtp_url=f"smtp://127.0.0.1:{port}", sender="a@b.c")
    async with uow() as s:
        world = await make_operator(s)
    with pytest.raises(RuntimeError):
        async with uow() as s:
            await email.queue(
                s,
                mailer,
                operator_id=world.operator.id,
                to="x@y.example",
                subject="S",
                body_text="B",
            )
            raise RuntimeError("the change fails after the email was queued")
    await email.wait_for_deliveries()
    assert inbox.messages == []
    async with uow() as s:
        assert await emails_to(s, "x@y.example") == []


async def test_the_outbox_shows_no_usable_link_token(uow, client) -> None:
    """An admin reading the outbox (API or console) cannot accept someone else's invitation;
    the email itself carries the link."""
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, name="Acme")
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"/api/v1/accounts/{acme.id}/invitations",
        json={"email": "ana@acme.example"},
        headers=headers,
    )
    assert response.status_code == 201
    async with uow() as s:
        token = await link_token(s, "ana@acme.example", "invite")
    listed = (await client.get("/api/v1/outbox", headers=headers)).json()["items"]
    assert "cg_inv_[redacted]" in listed[0]["body_text"] and token not in listed[0]["body_text"]
    await console_login(client, world.operator, world.admin)
    page = await client.get("/console/outbox")
    assert page.status_code == 200
    assert "cg_inv_[redacted]" in page.text and token not in page.text
