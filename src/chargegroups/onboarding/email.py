"""Every email is a row in the outbox; with SMTP configured it is also delivered.

Delivery starts only after the transaction that queued the email commits (a rolled-back change
never sends mail) and runs beside the request: a failing SMTP server records ``last_error`` on
the row and never fails the request that caused the email.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from chargegroups.config import Settings
from chargegroups.kit import metrics
from chargegroups.kit.clock import utcnow
from chargegroups.models import OutboxEmail

log = logging.getLogger("chargegroups.email")
_PENDING_KEY = "chargegroups.outbox"
SMTP_TIMEOUT_SECONDS = 15
_in_flight: set[asyncio.Task[None]] = set()


@dataclass(frozen=True, slots=True)
class Mailer:
    """Where links point and how mail leaves; built by each edge from the settings."""

    public_url: str
    smtp_url: str | None
    sender: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer:
        return cls(
            public_url=settings.public_url, smtp_url=settings.smtp_url, sender=settings.email_from
        )

    def link(self, path: str) -> str:
        return self.public_url.rstrip("/") + path


@dataclass(frozen=True, slots=True)
class _Pending:
    email_id: str
    mailer: Mailer
    engine: AsyncEngine


async def queue(
    session: AsyncSession,
    mailer: Mailer,
    *,
    operator_id: str,
    to: str,
    subject: str,
    body_text: str,
) -> OutboxEmail:
    email = OutboxEmail(operator_id=operator_id, to=to, subject=subject, body_text=body_text)
    session.add(email)
    await session.flush()
    if mailer.smtp_url is None:
        # Not the body: its links carry single-use tokens (the console's outbox shows it).
        log.info("email %s to %s kept in the outbox (no SMTP): %s", email.id, to, subject)
        metrics.EMAIL_DELIVERIES.labels("outbox").inc()
    elif isinstance(session.bind, AsyncEngine):
        pending: list[_Pending] = session.info.setdefault(_PENDING_KEY, [])
        pending.append(_Pending(email.id, mailer, session.bind))
    return email


async def wait_for_deliveries() -> None:
    """Wait until every delivery started so far has finished (for tests and shutdown)."""
    while _in_flight:
        await asyncio.gather(*list(_in_flight))


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    pending: list[_Pending] | None = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    task = asyncio.get_running_loop().create_task(_deliver_all(pending))
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


async def _deliver_all(pending: list[_Pending]) -> None:
    for item in pending:
        await _deliver(item)


async def _deliver(item: _Pending) -> None:
    async with AsyncSession(item.engine, expire_on_commit=False) as session, session.begin():
        email = await session.get_one(OutboxEmail, item.email_id)
        try:
            await send_smtp(item.mailer, email)
        except Exception as exc:  # any failure is recorded, never raised into the request
            log.warning("email %s to %s not delivered: %s", email.id, email.to, exc)
            values: dict[str, object] = {"last_error": f"{type(exc).__name__}: {exc}"[:2000]}
            metrics.EMAIL_DELIVERIES.labels("failed").inc()
        else:
            values = {"sent_at": utcnow(), "last_error": None}
            metrics.EMAIL_DELIVERIES.labels("sent").inc()
        await session.execute(
            update(OutboxEmail).where(OutboxEmail.id == email.id).values(**values)
        )


async def send_smtp(mailer: Mailer, email: OutboxEmail) -> None:
    if mailer.smtp_url is None:
        raise ValueError("no SMTP server configured")
    url = urlsplit(mailer.smtp_url)
    if url.scheme not in ("smtp", "smtps"):
        raise ValueError("CHARGEGROUPS_SMTP_URL must start with smtp:// or smtps://")
    message = EmailMessage()
    message["From"] = mailer.sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message.set_content(email.body_text)
    await aiosmtplib.send(
        message,
        hostname=url.hostname or "localhost",
        port=url.port or (465 if url.scheme == "smtps" else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=url.scheme == "smtps",
        timeout=SMTP_TIMEOUT_SECONDS,
    )
