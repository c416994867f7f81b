from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from chargegroups.charger import service
from chargegroups.charger.schemas import ChargerIn, ChargerOut, ChargerPatch, ScopeGroupOut
from chargegroups.models import Charger
from chargegroups.rest.deps import Db, Page, Subject
from chargegroups.rest.idempotency import IdempotencyKey, idempotent
from chargegroups.rest.params import PathId
from chargegroups.rest.schemas import PROBLEM_RESPONSES, PageOut

router = APIRouter(prefix="/chargers", tags=["chargers"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=PageOut[ChargerOut])
async def list_chargers(
    db: Db,
    subject: Subject,
    page: Page,
    account_id: Annotated[str | None, Query(max_length=36)] = None,
) -> PageOut[ChargerOut]:
    """The chargers within the caller's reach."""
    found = await service.list_chargers(db, subject, page, account_id=account_id)
    return PageOut(items=await _outs(db, found.items), next_cursor=found.next_cursor)


async def _outs(db: Db, chargers: Sequence[Charger]) -> list[ChargerOut]:
    online = await service.online(db, [c.id for c in chargers])
    return [ChargerOut.of(c, online=c.id in online) for c in chargers]


async def _out(db: Db, charger: Charger) -> ChargerOut:
    return (await _outs(db, [charger]))[0]


@router.post("", response_model=ChargerOut, status_code=status.HTTP_201_CREATED)
async def create_charger(
    body: ChargerIn,
    db: Db,
    subject: Subject,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Register a charger with its charge point id and OCPP password."""

    async def create() -> ChargerOut:
        fields = body.model_dump(exclude={"password"})
        return await _out(
            db, await service.create_charger(db, subject, password=body.password, **fields)
        )

    return await idempotent(db, subject, request, idempotency_key, body, create)


@router.get("/{charger_id}", response_model=ChargerOut)
async def read_charger(charger_id: PathId, db: Db, subject: Subject) -> ChargerOut:
    """One charger."""
    return await _out(db, await service.visible_charger(db, subject, charger_id))


@router.patch("/{charger_id}", response_model=ChargerOut)
async def patch_charger(
    charger_id: PathId, body: ChargerPatch, db: Db, subject: Subject
) -> ChargerOut:
    """Change a charger: access mode, rate plan, owning account, password."""
    changes = body.model_dump(exclude_unset=True)
    return await _out(db, await service.update_charger(db, subject, charger_id, changes))


@router.get("/{charger_id}/scope", response_model=list[ScopeGroupOut])
async def read_scope(charger_id: PathId, db: Db, subject: Subject) -> list[ScopeGroupOut]:
    """The groups whose members may charge at this private charger."""
    return [ScopeGroupOut.of(e) for e in await service.list_scope(db, subject, charger_id)]


@router.put("/{charger_id}/scope/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def add_to_scope(charger_id: PathId, group_id: PathId, db: Db, subject: Subject) -> Response:
    """Let a group's members charge at this charger."""
    await service.add_to_scope(db, subject, charger_id, group_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{charger_id}/scope/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_from_scope(
    charger_id: PathId, group_id: PathId, db: Db, subject: Subject
) -> Response:
    """The group's members may no longer charge here by this group."""
    await service.remove_from_scope(db, subject, charger_id, group_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
