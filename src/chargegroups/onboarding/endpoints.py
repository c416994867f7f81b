"""REST edge of onboarding: admin calls, the public (rate-limited) calls, the email links."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import RedirectResponse

from chargegroups.limits.rules import public_limit_key
from chargegroups.onboarding import importer, service
from chargegroups.onboarding.email import Mailer
from chargegroups.onboarding.rules import csv_text
from chargegroups.onboarding.schemas import (
    AcceptInvitationIn,
    ImportedRowOut,
    ImportOut,
    InvitationIn,
    InvitationOut,
    JoinIn,
    JoinLinkCreatedOut,
    JoinLinkIn,
    JoinLinkOut,
    MemberMovedOut,
    OutboxEmailOut,
    PublicAnswerOut,
    SignupIn,
    TransferIn,
    VerifiedOut,
    VerifyEmailIn,
)
from chargegroups.rest.deps import AppSettings, Db, Page, Subject, client_address
from chargegroups.rest.schemas import PROBLEM_RESPONSES, RATE_LIMITED, PageOut

router = APIRouter(tags=["onboarding"], responses=PROBLEM_RESPONSES)


def get_mailer(settings: AppSettings) -> Mailer:
    return Mailer.from_settings(settings)


async def public_rate_limit(request: Request, settings: AppSettings) -> None:
    """Per client address, across every public onboarding call and every process (N2)."""
    await request.app.state.limits.hit(
        public_limit_key(client_address(request)),
        limit=settings.public_rate_limit,
        window_seconds=settings.public_rate_window_seconds,
    )


MailerDep = Annotated[Mailer, Depends(get_mailer)]
PUBLIC_LIMIT = [Depends(public_rate_limit)]


@router.get("/outbox", response_model=PageOut[OutboxEmailOut])
async def list_outbox(db: Db, subject: Subject, page: Page) -> PageOut[OutboxEmailOut]:
    """The emails the operator sent or would send (the outbox), newest first."""
    found = await service.list_outbox(db, subject, page)
    return PageOut(
        items=[OutboxEmailOut.model_validate(e) for e in found.items],
        next_cursor=found.next_cursor,
    )


@router.post("/accounts/{account_id}/invitations", response_model=InvitationOut, status_code=201)
async def invite(
    account_id: str, body: InvitationIn, db: Db, subject: Subject, mailer: MailerDep
) -> InvitationOut:
    """Invite someone by email to become a member of the account; the invitation link is
    single-use and expires."""
    invitation = await service.invite(db, subject, mailer, account_id, body.email)
    return InvitationOut.model_validate(invitation)


@router.get("/accounts/{account_id}/invitations", response_model=PageOut[InvitationOut])
async def list_invitations(
    account_id: str, db: Db, subject: Subject, page: Page
) -> PageOut[InvitationOut]:
    """The account's open invitations."""
    found = await service.list_invitations(db, subject, account_id, page)
    return PageOut(
        items=[InvitationOut.model_validate(i) for i in found.items],
        next_cursor=found.next_cursor,
    )


@router.delete("/accounts/{account_id}/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(
    account_id: str, invitation_id: str, db: Db, subject: Subject
) -> Response:
    """Withdraw an invitation: its link stops working."""
    await service.revoke_invitation(db, subject, account_id, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/accounts/{account_id}/join-links", response_model=JoinLinkCreatedOut, status_code=201
)
async def create_join_link(
    account_id: str, body: JoinLinkIn, db: Db, subject: Subject, mailer: MailerDep
) -> JoinLinkCreatedOut:
    """A link anyone may use to join the account (optionally limited in uses and time)."""
    created = await service.create_join_link(
        db, subject, mailer, account_id, expires_at=body.expires_at, max_uses=body.max_uses
    )
    shown = JoinLinkOut.model_validate(created.link).model_dump()
    return JoinLinkCreatedOut(**shown, url=created.url)


@router.get("/accounts/{account_id}/join-links", response_model=PageOut[JoinLinkOut])
async def list_join_links(
    account_id: str, db: Db, subject: Subject, page: Page
) -> PageOut[JoinLinkOut]:
    """The account's join links."""
    found = await service.list_join_links(db, subject, account_id, page)
    return PageOut(
        items=[JoinLinkOut.model_validate(link) for link in found.items],
        next_cursor=found.next_cursor,
    )


@router.delete("/accounts/{account_id}/join-links/{link_id}", status_code=204)
async def revoke_join_link(account_id: str, link_id: str, db: Db, subject: Subject) -> Response:
    """Withdraw a join link."""
    await service.revoke_join_link(db, subject, account_id, link_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/users/{user_id}/transfer", response_model=MemberMovedOut)
async def transfer(user_id: str, body: TransferIn, db: Db, subject: Subject) -> MemberMovedOut:
    """Move a user to another account of the operator."""
    user = await service.transfer(db, subject, user_id, body.account_id)
    return MemberMovedOut(id=user.id, email=user.email, name=user.name, account_id=user.account_id)


@router.delete("/accounts/{account_id}/members/{user_id}", response_model=MemberMovedOut)
async def remove_member(account_id: str, user_id: str, db: Db, subject: Subject) -> MemberMovedOut:
    """Take a user out of the account."""
    user = await service.remove_member(db, subject, account_id, user_id)
    return MemberMovedOut(id=user.id, email=user.email, name=user.name, account_id=user.account_id)


@router.post(
    "/accounts/{account_id}/members/import",
    response_model=ImportOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def import_members(account_id: str, request: Request, db: Db, subject: Subject) -> ImportOut:
    """Import the account's members from CSV (`email,name[,token_uid][,valid_until]`): every
    row checked first, all or nothing."""
    account = await service.managed_account(db, subject, account_id)
    result = await importer.import_members(db, subject.actor, account, await _csv_text(request))
    return ImportOut(
        created=result.created,
        unchanged=result.unchanged,
        rows=[ImportedRowOut.model_validate(r, from_attributes=True) for r in result.rows],
    )


async def _csv_text(request: Request) -> str:
    """The CSV from a text/csv body or from the ``file`` field of a multipart form."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form() as form:
            upload = form.get("file")
            if isinstance(upload, str):
                raw = upload.encode()
            else:
                raw = await upload.read() if upload is not None else b""
    else:
        raw = await request.body()
    return csv_text(raw)


# --- public calls (no bearer token) ------------------------------------------------------


@router.post(
    "/signup",
    response_model=PublicAnswerOut,
    status_code=202,
    dependencies=PUBLIC_LIMIT,
    responses=RATE_LIMITED,
)
async def signup(body: SignupIn, db: Db, mailer: MailerDep) -> PublicAnswerOut:
    """Self sign-up of a driver, where the operator allows it; rate-limited per client address."""
    detail = await service.signup(
        db,
        mailer,
        operator_slug=body.operator,
        address=body.email,
        password=body.password,
        name=body.name,
    )
    return PublicAnswerOut(detail=detail)


@router.post(
    "/verify-email", response_model=VerifiedOut, dependencies=PUBLIC_LIMIT, responses=RATE_LIMITED
)
async def verify_email(body: VerifyEmailIn, db: Db) -> VerifiedOut:
    """Confirm an email address with the token sent to it."""
    user = await service.verify_email(db, body.token)
    return VerifiedOut(account_id=user.account_id)


@router.post(
    "/invitations/accept",
    response_model=PublicAnswerOut,
    status_code=202,
    dependencies=PUBLIC_LIMIT,
    responses=RATE_LIMITED,
)
async def accept_invitation(body: AcceptInvitationIn, db: Db, mailer: MailerDep) -> PublicAnswerOut:
    """Accept an invitation with its token, choosing a password."""
    detail = await service.accept_invitation(
        db, mailer, token=body.token, password=body.password, name=body.name
    )
    return PublicAnswerOut(detail=detail)


@router.post(
    "/join/{link_token}",
    response_model=PublicAnswerOut,
    status_code=202,
    dependencies=PUBLIC_LIMIT,
    responses=RATE_LIMITED,
)
async def join(link_token: str, body: JoinIn, db: Db, mailer: MailerDep) -> PublicAnswerOut:
    """Join an account through its join link."""
    detail = await service.join(
        db,
        mailer,
        token=link_token,
        address=body.email,
        password=body.password,
        name=body.name,
    )
    return PublicAnswerOut(detail=detail)


# --- the links in emails ({PUBLIC_URL}/invite/…) lead to the console's pages -------------

links_router = APIRouter(include_in_schema=False)


@links_router.get("/invite/{token}")
async def invite_link(token: str) -> RedirectResponse:
    return RedirectResponse(f"/console/invite/{quote(token, safe='')}", status_code=303)


@links_router.get("/verify-email/{token}")
async def verify_email_link(token: str) -> RedirectResponse:
    return RedirectResponse(f"/console/verify-email/{quote(token, safe='')}", status_code=303)


@links_router.get("/join/{token}")
async def join_link(token: str) -> RedirectResponse:
    return RedirectResponse(f"/console/join/{quote(token, safe='')}", status_code=303)
