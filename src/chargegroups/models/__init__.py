"""Every table, imported here so metadata (and Alembic) sees them all."""

from chargegroups.models.access_token import AccessToken
from chargegroups.models.account import Account, AccountDomain
from chargegroups.models.audit_event import AuditEvent
from chargegroups.models.base import Base
from chargegroups.models.charger import Charger, ChargerScope
from chargegroups.models.charging_session import ChargingSession
from chargegroups.models.driver_token import DriverToken
from chargegroups.models.grant import Grant
from chargegroups.models.group import UserGroup
from chargegroups.models.idempotency_key import IdempotencyKey
from chargegroups.models.limit_counter import LimitCounter
from chargegroups.models.membership import GroupMembership
from chargegroups.models.node import ChargerConnection, Node
from chargegroups.models.onboarding import EmailVerification, Invitation, JoinLink, OutboxEmail
from chargegroups.models.operator import Operator
from chargegroups.models.rate_plan import (
    DiscountDelegation,
    DiscountDelegationPlan,
    GroupDiscount,
    RatePlan,
    RatePlanVersion,
)
from chargegroups.models.scim_token import ScimToken
from chargegroups.models.statement import Statement
from chargegroups.models.user import User

__all__ = [
    "AccessToken",
    "Account",
    "AccountDomain",
    "AuditEvent",
    "Base",
    "Charger",
    "ChargerConnection",
    "ChargerScope",
    "ChargingSession",
    "DiscountDelegation",
    "DiscountDelegationPlan",
    "DriverToken",
    "EmailVerification",
    "Grant",
    "GroupDiscount",
    "GroupMembership",
    "IdempotencyKey",
    "Invitation",
    "JoinLink",
    "LimitCounter",
    "Node",
    "Operator",
    "OutboxEmail",
    "RatePlan",
    "RatePlanVersion",
    "ScimToken",
    "Statement",
    "User",
    "UserGroup",
]
