"""A SCIM token of an account, as its admin would make one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.secrets import hash_token, new_token
from chargegroups.models import Account, ScimToken

SCIM = "/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


async def scim_headers(session: AsyncSession, account: Account) -> dict[str, str]:
    token = new_token("cg_scim")
    session.add(
        ScimToken(
            operator_id=account.operator_id,
            account_id=account.id,
            token_hash=hash_token(token),
            name="Test IdP",
        )
    )
    await session.flush()
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}


def user_body(email: str, **extra: object) -> dict[str, object]:
    return {"schemas": [USER_SCHEMA], "userName": email, **extra}


def patch_body(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
