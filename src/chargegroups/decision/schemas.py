from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

from chargegroups.decision.loader import NO_RATE_PLAN
from chargegroups.decision.rules import Decision, decision_to_dict, explain
from chargegroups.kit.instants import Instant
from chargegroups.rest.schemas import ApiModel


class DecisionRequest(ApiModel):
    """``{charger_id | charge_point_id, token_uid | user_id, at?}``"""

    charger_id: str | None = Field(default=None, min_length=1, max_length=36)
    charge_point_id: str | None = Field(default=None, min_length=1, max_length=48)
    token_uid: str | None = Field(default=None, min_length=1, max_length=64)
    user_id: str | None = Field(default=None, min_length=1, max_length=36)
    at: Instant | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> Self:
        if (self.charger_id is None) == (self.charge_point_id is None):
            raise ValueError("send exactly one of charger_id or charge_point_id")
        if (self.token_uid is None) == (self.user_id is None):
            raise ValueError("send exactly one of token_uid or user_id")
        return self


class PayerOut(BaseModel):
    kind: str
    user_id: str
    group_id: str | None


class RatePlanRefOut(BaseModel):
    id: str
    version: int
    summary: str


class TraceEntryOut(BaseModel):
    group_id: str
    group_name: str
    applies: bool
    why: str
    roles: list[str]


class DecisionOut(BaseModel):
    """The decision (API.md, "The decision"); ``explanation`` says it in sentences (D9)."""

    allowed: bool
    status: str
    ocpp16_status: str
    ocpp201_status: str
    reason: str
    user_id: str | None
    token_uid: str | None
    charger_id: str
    deciding_group_id: str | None
    discount: dict[str, Any] | None
    payer: PayerOut | None
    rate_plan: RatePlanRefOut | None  # null when no rate plan applies at the charger (D4)
    trace: list[TraceEntryOut]
    parent_id_tag: str | None
    cache_expires_at: str | None
    explanation: list[str]

    @classmethod
    def build(cls, decision: Decision) -> DecisionOut:
        return cls.model_validate(decision_body(decision))


def decision_body(decision: Decision) -> dict[str, Any]:
    """:class:`DecisionOut`'s shape as plain data, built without validating it again: the API
    writes it straight to JSON (validating the model it describes cost more than the rest of
    the answer). A property test holds it to the model."""
    trace = decision.trace  # derived on each read: once for both
    body = decision_to_dict(decision, trace)
    explanation = explain(decision, trace)
    if decision.rate_plan == NO_RATE_PLAN:
        body["rate_plan"] = None
        plan_line = f"Rate plan: {NO_RATE_PLAN.summary} (version 0)."
        explanation = [_NO_PLAN_TEXT if line == plan_line else line for line in explanation]
    body["explanation"] = explanation
    return body


_NO_PLAN_TEXT = (
    "No rate plan applies here (D4): none on the charger, its owning account or the operator."
)
