"""The caller of a request and its grants, as every service sees it (R2, R3)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change, as the audit log records it."""

    kind: str  # user | system | charger | scim
    id: str | None


SYSTEM = Actor(kind="system", id=None)


@dataclass(frozen=True, slots=True)
class AuthSubject:
    user_id: str
    operator_id: str
    account_id: str
    is_operator_admin: bool
    admin_account_ids: frozenset[str]

    @property
    def actor(self) -> Actor:
        return Actor(kind="user", id=self.user_id)

    @property
    def is_admin(self) -> bool:
        return self.is_operator_admin or bool(self.admin_account_ids)

    def manages_account(self, account_id: str | None) -> bool:
        """May administer this account: its account admins and every operator admin."""
        if self.is_operator_admin:
            return True
        return account_id is not None and account_id in self.admin_account_ids
