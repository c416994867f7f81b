"""Every way a driver joins or leaves an account (A2-A7), each followed by auto-assign (G8).

Public flows (sign-up, join link, accepting an invitation) answer the same whether or not the
address exists (A7): the owner of an existing address gets an email instead of a second account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.account.rules import normalize_domain
from chargegroups.audit.service import record_change
from chargegroups.auth.subject import Actor, AuthSubject
from chargegroups.charger.revocation import access_revoked
from chargegroups.errors import Conflict, InvalidInput, NotFound, NotPermitted
from chargegroups.group.service import auto_assign
from chargegroups.kit.clock import utcnow
from chargegroups.kit.pagination import Page, PageRequest, paginate
from chargegroups.kit.secrets import hash_password_off_loop, hash_token, new_token
from chargegroups.models import Account, EmailVerification, Invitation, JoinLink, OutboxEmail, User
from chargegroups.onboarding import email, repository
from chargegroups.onboarding.email import Mailer
from chargegroups.onboarding.rules import checked_email
from chargegroups.user.rules import email_domain, new_parent_id_tag, normalize_email
from chargegroups.user.service import change_user

INVITATION_TTL = timedelta(days=7)
VERIFICATION_TTL = timedelta(days=7)
CHECK_YOUR_EMAIL = "Thank you. We sent an email to that address: follow it to continue."


# --- reach -------------------------------------------------------------------------------


async def managed_account(session: AsyncSession, subject: AuthSubject, account_id: str) -> Account:
    """An account the caller administers; outside its reach a 404 (R3), its own account 403."""
    account = await repository.account_in_operator(session, subject.operator_id, account_id)
    if account is None:
        raise NotFound("No such account.")
    if not subject.manages_account(account.id):
        if account.id == subject.account_id:
            raise NotPermitted("Only this account's admins manage its members.")
        raise NotFound("No such account.")
    return account


# --- outbox ------------------------------------------------------------------------------


async def list_outbox(
    session: AsyncSession, subject: AuthSubject, page: PageRequest
) -> Page[OutboxEmail]:
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins read the outbox.")
    stmt = select(OutboxEmail).where(OutboxEmail.operator_id == subject.operator_id)
    return await paginate(session, stmt, OutboxEmail.id, page, descending=True)


# --- invitations (A2) --------------------------------------------------------------------


async def invite(
    session: AsyncSession, subject: AuthSubject, mailer: Mailer, account_id: str, address: str
) -> Invitation:
    account = await managed_account(session, subject, account_id)
    address = checked_email(address)
    existing = await repository.user_by_email(
        session, account.operator_id, normalize_email(address)
    )
    if existing is not None and not _awaits_activation(existing, account.id):
        holder = await session.get_one(Account, existing.account_id)
        raise Conflict(
            f"{address} already has a user, in account {holder.name!r}.",
            code="email_exists",
            account_id=holder.id,
            account_name=holder.name,
        )
    token = new_token("cg_inv")
    invitation = Invitation(
        operator_id=account.operator_id,
        account_id=account.id,
        email=address,
        token_hash=hash_token(token),
        invited_by_id=subject.user_id,
        expires_at=utcnow() + INVITATION_TTL,
    )
    session.add(invitation)
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "invitation.created",
        target_type="invitation",
        target_id=invitation.id,
        operator_id=account.operator_id,
        account_id=account.id,
        after={"email": address, "expires_at": invitation.expires_at.isoformat()},
    )
    await email.queue(
        session,
        mailer,
        operator_id=account.operator_id,
        to=address,
        subject=f"You are invited to charge with {account.name}",
        body_text=(
            f"You are invited to join {account.name}.\n\n"
            f"Accept the invitation and choose your password here:\n"
            f"{mailer.link(f'/invite/{token}')}\n\n"
            f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        ),
    )
    return invitation


def _awaits_activation(user: User, account_id: str) -> bool:
    """An imported member without a password is invited to its own account to set one."""
    return user.password_hash is None and user.account_id == account_id


async def list_invitations(
    session: AsyncSession, subject: AuthSubject, account_id: str, page: PageRequest
) -> Page[Invitation]:
    account = await managed_account(session, subject, account_id)
    stmt = select(Invitation).where(Invitation.account_id == account.id)
    return await paginate(session, stmt, Invitation.id, page, descending=True)


async def revoke_invitation(
    session: AsyncSession, subject: AuthSubject, account_id: str, invitation_id: str
) -> None:
    account = await managed_account(session, subject, account_id)
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.account_id != account.id:
        raise NotFound("No such invitation.")
    if invitation.accepted_at is not None:
        raise Conflict("The invitation was accepted already.", code="invitation_used")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        await record_change(
            session,
            subject.actor,
            "invitation.revoked",
            target_type="invitation",
            target_id=invitation.id,
            operator_id=account.operator_id,
            account_id=account.id,
        )


async def open_invitation(session: AsyncSession, token: str) -> tuple[Invitation, Account]:
    """The invitation behind ``token`` if it may still be accepted, else why not."""
    invitation = await repository.invitation_by_hash(session, hash_token(token))
    if invitation is None:
        raise NotFound("This invitation link is not valid.", code="token_unknown")
    if invitation.revoked_at is not None:
        raise Conflict("This invitation was withdrawn.", code="invitation_revoked")
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was used already.", code="invitation_used")
    if invitation.expires_at <= utcnow():
        raise Conflict("This invitation has expired; ask for a new one.", code="invitation_expired")
    return invitation, await session.get_one(Account, invitation.account_id)


async def accept_invitation(
    session: AsyncSession, mailer: Mailer, *, token: str, password: str, name: str
) -> str:
    invitation, account = await open_invitation(session, token)
    password_hash = await hash_password_off_loop(password)
    existing = await repository.user_by_email(
        session, invitation.operator_id, normalize_email(invitation.email)
    )
    if existing is not None and not _awaits_activation(existing, account.id):
        await _tell_owner_account_exists(session, mailer, existing)
        return CHECK_YOUR_EMAIL
    if not await repository.mark_invitation_accepted(session, invitation.id, utcnow()):
        raise Conflict("This invitation was used already.", code="invitation_used")
    if existing is None:
        # The link reached this address, which proves it: the user starts verified.
        user = await _create_user(
            session,
            operator_id=invitation.operator_id,
            account_id=account.id,
            address=invitation.email,
            name=name,
            password_hash=password_hash,
            verified=True,
            source="invitation",
        )
    else:
        user = existing
        user.name, user.password_hash = name, password_hash
        user.email_verified_at = user.email_verified_at or utcnow()
        await record_change(
            session,
            Actor(kind="user", id=user.id),
            "user.activated",
            target_type="user",
            target_id=user.id,
            operator_id=user.operator_id,
            account_id=user.account_id,
            after={"invitation_id": invitation.id},
        )
    await record_change(
        session,
        Actor(kind="user", id=user.id),
        "invitation.accepted",
        target_type="invitation",
        target_id=invitation.id,
        operator_id=invitation.operator_id,
        account_id=account.id,
        after={"user_id": user.id},
    )
    await auto_assign(session, user, source="invitation", actor=Actor(kind="user", id=user.id))
    await email.queue(
        session,
        mailer,
        operator_id=user.operator_id,
        to=user.email,
        subject=f"Welcome to {account.name}",
        body_text=(
            f"Your account in {account.name} is ready.\n\n"
            f"Sign in here: {mailer.link('/console/login')}"
        ),
    )
    return CHECK_YOUR_EMAIL


# --- join links (A3) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreatedJoinLink:
    """A new join link: the only moment its URL (and token) exists in clear."""

    link: JoinLink
    url: str


async def create_join_link(
    session: AsyncSession,
    subject: AuthSubject,
    mailer: Mailer,
    account_id: str,
    *,
    expires_at: datetime | None,
    max_uses: int | None,
) -> CreatedJoinLink:
    account = await managed_account(session, subject, account_id)
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("expires_at must be in the future.", code="invalid_expiry")
    token = new_token("cg_join")
    link = JoinLink(
        operator_id=account.operator_id,
        account_id=account.id,
        token_hash=hash_token(token),
        expires_at=expires_at,
        max_uses=max_uses,
        uses=0,
        created_by_id=subject.user_id,
    )
    session.add(link)
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "join_link.created",
        target_type="join_link",
        target_id=link.id,
        operator_id=account.operator_id,
        account_id=account.id,
        after={"expires_at": expires_at.isoformat() if expires_at else None, "max_uses": max_uses},
    )
    return CreatedJoinLink(link=link, url=mailer.link(f"/join/{token}"))


async def list_join_links(
    session: AsyncSession, subject: AuthSubject, account_id: str, page: PageRequest
) -> Page[JoinLink]:
    account = await managed_account(session, subject, account_id)
    stmt = select(JoinLink).where(JoinLink.account_id == account.id)
    return await paginate(session, stmt, JoinLink.id, page, descending=True)


async def revoke_join_link(
    session: AsyncSession, subject: AuthSubject, account_id: str, link_id: str
) -> None:
    account = await managed_account(session, subject, account_id)
    link = await session.get(JoinLink, link_id)
    if link is None or link.account_id != account.id:
        raise NotFound("No such join link.")
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        await record_change(
            session,
            subject.actor,
            "join_link.revoked",
            target_type="join_link",
            target_id=link.id,
            operator_id=account.operator_id,
            account_id=account.id,
        )


async def open_join_link(session: AsyncSession, token: str) -> tuple[JoinLink, Account]:
    """The join link behind ``token`` if it may still be used, else why not."""
    link = await repository.join_link_by_hash(session, hash_token(token))
    if link is None:
        raise NotFound("This join link is not valid.", code="token_unknown")
    _refuse_dead_link(link)
    return link, await session.get_one(Account, link.account_id)


def _refuse_dead_link(link: JoinLink) -> None:
    if link.revoked_at is not None:
        raise Conflict("This join link was withdrawn.", code="join_link_revoked")
    if link.expires_at is not None and link.expires_at <= utcnow():
        raise Conflict("This join link has expired.", code="join_link_expired")
    if link.max_uses is not None and link.uses >= link.max_uses:
        raise Conflict("This join link has been used up.", code="join_link_exhausted")


async def join(
    session: AsyncSession,
    mailer: Mailer,
    *,
    token: str,
    address: str,
    password: str,
    name: str,
) -> str:
    """A3. Holding the link proves the account placement, so the user joins at once; the
    address still gets a verification email (it proves the address, not the placement)."""
    link, account = await open_join_link(session, token)
    address = checked_email(address)
    password_hash = await hash_password_off_loop(password)
    existing = await repository.user_by_email(session, link.operator_id, normalize_email(address))
    if existing is not None:
        await _tell_owner_account_exists(session, mailer, existing)
        return CHECK_YOUR_EMAIL
    if not await repository.count_join_link_use(session, link.id, utcnow()):
        await session.refresh(link)
        _refuse_dead_link(link)
        raise Conflict("This join link has been used up.", code="join_link_exhausted")
    user = await _create_user(
        session,
        operator_id=link.operator_id,
        account_id=account.id,
        address=address,
        name=name,
        password_hash=password_hash,
        verified=False,
        source="invitation_link",
        join_link_id=link.id,
    )
    await auto_assign(session, user, source="invitation_link", actor=Actor(kind="user", id=user.id))
    await _send_verification(session, mailer, user)
    return CHECK_YOUR_EMAIL


# --- self-registration and email verification (A4) ---------------------------------------


async def signup(
    session: AsyncSession,
    mailer: Mailer,
    *,
    operator_slug: str,
    address: str,
    password: str,
    name: str,
) -> str:
    """A4: the user waits in the default account, in no group, until the address is proven."""
    operator = await repository.operator_by_slug(session, operator_slug)
    if operator is None or not operator.self_signup_enabled:
        raise NotPermitted("Self sign-up is not available here.", code="signup_disabled")
    address = checked_email(address)
    password_hash = await hash_password_off_loop(password)
    existing = await repository.user_by_email(session, operator.id, normalize_email(address))
    if existing is not None:
        await _tell_owner_account_exists(session, mailer, existing)
        return CHECK_YOUR_EMAIL
    default = await repository.default_account(session, operator.id)
    user = await _create_user(
        session,
        operator_id=operator.id,
        account_id=default.id,
        address=address,
        name=name,
        password_hash=password_hash,
        verified=False,
        source="signup",
    )
    await _send_verification(session, mailer, user)
    return CHECK_YOUR_EMAIL


async def verify_email(session: AsyncSession, token: str) -> User:
    """Proves the address; a user still in the default account then gets its domain's account
    (A1, A4) and, either way, that account's auto-assign groups with source ``domain``."""
    verification = await repository.verification_by_hash(session, hash_token(token))
    if verification is None:
        raise NotFound("This verification link is not valid.", code="token_unknown")
    if verification.used_at is not None:
        raise Conflict("This address was verified already.", code="verification_used")
    now = utcnow()
    if not await repository.mark_verification_used(session, verification.id, now):
        if verification.expires_at <= now:
            raise Conflict("This link has expired; sign up again.", code="verification_expired")
        raise Conflict("This address was verified already.", code="verification_used")
    user = await session.get_one(User, verification.user_id)
    actor = Actor(kind="user", id=user.id)
    user.email_verified_at = user.email_verified_at or now
    await record_change(
        session,
        actor,
        "user.email_verified",
        target_type="user",
        target_id=user.id,
        operator_id=user.operator_id,
        account_id=user.account_id,
    )
    current = await session.get_one(Account, user.account_id)
    if current.is_default:
        matching = await _account_of_domain(session, user)
        if matching is not None and matching.id != current.id:
            await _move(session, user, matching, actor, reason="domain")
        await auto_assign(session, user, source="domain", actor=actor)
    return user


async def _account_of_domain(session: AsyncSession, user: User) -> Account | None:
    try:
        domain = normalize_domain(email_domain(user.email))
    except InvalidInput:
        return None
    return await repository.account_for_domain(session, user.operator_id, domain)


async def _send_verification(session: AsyncSession, mailer: Mailer, user: User) -> None:
    token = new_token("cg_ver")
    session.add(
        EmailVerification(
            user_id=user.id, token_hash=hash_token(token), expires_at=utcnow() + VERIFICATION_TTL
        )
    )
    await session.flush()
    await email.queue(
        session,
        mailer,
        operator_id=user.operator_id,
        to=user.email,
        subject="Confirm your email address",
        body_text=(
            "Confirm that this address is yours to finish signing up:\n"
            f"{mailer.link(f'/verify-email/{token}')}\n\n"
            "If you did not sign up, ignore this email."
        ),
    )


async def _tell_owner_account_exists(session: AsyncSession, mailer: Mailer, user: User) -> None:
    await email.queue(
        session,
        mailer,
        operator_id=user.operator_id,
        to=user.email,
        subject="You already have an account",
        body_text=(
            "Someone (probably you) tried to sign up with this address, but it already has an "
            f"account. Sign in here: {mailer.link('/console/login')}\n\n"
            "If it was not you, you can ignore this email."
        ),
    )


async def _create_user(
    session: AsyncSession,
    *,
    operator_id: str,
    account_id: str,
    address: str,
    name: str,
    password_hash: str | None,
    verified: bool,
    source: str,
    actor: Actor | None = None,
    external_id: str | None = None,
    **details: Any,
) -> User:
    """A new member; ``actor`` is who made it (the user itself when it signed up or joined)."""
    user = User(
        operator_id=operator_id,
        account_id=account_id,
        email=address,
        email_normalized=normalize_email(address),
        name=name,
        password_hash=password_hash,
        email_verified_at=utcnow() if verified else None,
        parent_id_tag=new_parent_id_tag(),
        external_id=external_id,
    )
    session.add(user)
    await session.flush()
    await record_change(
        session,
        actor or Actor(kind="user", id=user.id),
        "user.created",
        target_type="user",
        target_id=user.id,
        operator_id=operator_id,
        account_id=account_id,
        after={"email": address, "name": name, "source": source, **details},
    )
    return user


# --- transfer (A5) and removal (A6) ------------------------------------------------------


async def transfer(
    session: AsyncSession, subject: AuthSubject, user_id: str, account_id: str
) -> User:
    user = await repository.user_in_operator(session, subject.operator_id, user_id)
    if user is None or not subject.manages_account(user.account_id):
        raise NotFound("No such user.")
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins transfer users between accounts.")
    target = await repository.account_in_operator(session, subject.operator_id, account_id)
    if target is None:
        raise NotFound("No such account.", code="account_not_found")
    if target.id == user.account_id:
        raise Conflict("The user is a member of that account already.", code="already_member")
    await _move(session, user, target, subject.actor, reason="transfer")
    await auto_assign(session, user, source="transfer", actor=subject.actor)
    return user


async def remove_member(
    session: AsyncSession, subject: AuthSubject, account_id: str, user_id: str
) -> User:
    """A6: back to the default account (history and sessions stay), like a transfer."""
    account = await managed_account(session, subject, account_id)
    user = await repository.user_in_operator(session, subject.operator_id, user_id)
    if user is None or user.account_id != account.id:
        raise NotFound("No such member.")
    await leave_account(session, subject.actor, account, user)
    return user


async def leave_account(session: AsyncSession, actor: Actor, account: Account, user: User) -> None:
    """A6 for a member of ``account`` (checked by the caller): an admin's removal, or the
    account's identity provider deleting it (A10)."""
    if account.is_default:
        raise Conflict(
            "Members cannot be removed from the default account; transfer them instead.",
            code="default_account_removal",
        )
    default = await repository.default_account(session, account.operator_id)
    await _move(session, user, default, actor, reason="removal")
    await auto_assign(session, user, source="transfer", actor=actor)


# --- SCIM provisioning (A10) -------------------------------------------------------------


async def provision_member(
    session: AsyncSession,
    actor: Actor,
    account: Account,
    *,
    address: str,
    name: str,
    external_id: str | None,
) -> User:
    """The account's identity provider makes a member: a new user (its address vouched for by
    the provider), or the operator's user of that address while it waits in the default
    account. A user of any other account stays where it is (409, A7)."""
    address = checked_email(address)
    user = await repository.user_by_email(session, account.operator_id, normalize_email(address))
    if user is None:
        user = await _create_user(
            session,
            operator_id=account.operator_id,
            account_id=account.id,
            address=address,
            name=name,
            password_hash=None,
            verified=True,
            source="scim",
            actor=actor,
            external_id=external_id,
        )
    else:
        holder = await session.get_one(Account, user.account_id)
        if holder.id == account.id:
            raise Conflict(f"{address} is a member of this account already.", code="email_exists")
        if not holder.is_default:
            raise Conflict(
                f"{address} already has a user, in another account.", code="email_exists"
            )
        await _move(session, user, account, actor, reason="scim")
        await change_user(session, actor, user, {"external_id": external_id})
    await auto_assign(session, user, source="scim", actor=actor)
    return user


async def _move(
    session: AsyncSession, user: User, target: Account, actor: Actor, *, reason: str
) -> None:
    """Leave every account-level group of the old account, then join ``target``."""
    old_account_id = user.account_id
    paid = await repository.groups_paid_by(session, user.id, old_account_id)
    if paid:
        names = ", ".join(g.name for g in paid)
        raise Conflict(
            f"The user pays for groups of its account ({names}); name another financial owner"
            " first.",
            code="financial_owner_of_groups",
            groups=[{"id": g.id, "name": g.name} for g in paid],
        )
    memberships = await repository.account_memberships(session, user.id, old_account_id)
    if memberships:
        group_ids = [m.group_id for m in memberships]
        await repository.delete_memberships(session, [m.id for m in memberships])
        for membership in memberships:
            await record_change(
                session,
                actor,
                "membership.removed",
                target_type="group",
                target_id=membership.group_id,
                operator_id=user.operator_id,
                account_id=old_account_id,
                before={"user_id": user.id, "source": membership.source},
                after={"reason": reason},
            )
        chargers = await repository.chargers_scoping(session, group_ids)
        if chargers:
            access_revoked(session, operator_id=user.operator_id, charger_ids=chargers)
    user.account_id = target.id
    await session.flush()
    await record_change(
        session,
        actor,
        "user.account_changed",
        target_type="user",
        target_id=user.id,
        operator_id=user.operator_id,
        account_id=target.id,
        before={"account_id": old_account_id},
        after={"account_id": target.id, "reason": reason},
    )
