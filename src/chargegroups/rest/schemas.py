"""API shapes shared by every feature."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from chargegroups.kit.text import text_problem

T = TypeVar("T")


class ApiModel(BaseModel):
    """Base of every request shape: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: object) -> object:
        if isinstance(value, str) and (problem := text_problem(value)) is not None:
            raise ValueError(problem)
        return value


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class Problem(BaseModel):
    """application/problem+json (RFC 9457) with a stable machine ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` of these statuses, each a problem+json."""
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}}
        for status in statuses
    }


#: What any route may answer: 400 a body that cannot be parsed, 413 one too large, 503 the
#: database unavailable, besides the reach, conflict and validation answers.
PROBLEM_RESPONSES = problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 503)
#: Of a route that counts its calls against a limit (``limits``).
RATE_LIMITED = problem_responses(429)
