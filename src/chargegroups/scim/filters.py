"""SCIM filters (RFC 7644 §3.4.2.2) as SQL conditions: scim2-models parses and checks the
filter against the resource's model; this walks its tree into a ``WHERE`` clause, so a list
never loads an account's members to sift them in memory.

An attribute a resource does not store (``title``, ``nickName``) has no value: every
comparison with it and its ``pr`` are false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    true,
)

from chargegroups.kit.clock import as_utc

#: Builds the condition for one comparison: operator (None for ``pr``) and value.
Target = Callable[[CompareOperator | None, Any], ColumnElement[bool]]
#: (attribute, sub-attribute) as scim2-models names the model's fields → its target.
Targets = Mapping[tuple[str, str | None], Target]


def text(
    column: SQLColumnExpression[Any], *, lowered: bool = False, case_exact: bool = False
) -> Target:
    """A string column; ``lowered`` when it holds the lower-cased form already (an index)."""
    compared = column if lowered or case_exact else func.lower(column)

    def condition(op: CompareOperator | None, value: Any) -> ColumnElement[bool]:
        if op is None:
            return and_(column.is_not(None), column != "")
        if not isinstance(value, str):
            raise InvalidFilterException(detail=f"{value!r} is not a string")
        wanted = value if case_exact else value.lower()
        match op:
            case CompareOperator.eq:
                found = compared == wanted
            case CompareOperator.ne:
                return or_(column.is_(None), compared != wanted)
            case CompareOperator.co:
                found = compared.contains(wanted, autoescape=True)
            case CompareOperator.sw:
                found = compared.startswith(wanted, autoescape=True)
            case CompareOperator.ew:
                found = compared.endswith(wanted, autoescape=True)
            case CompareOperator.gt:
                found = compared > wanted
            case CompareOperator.ge:
                found = compared >= wanted
            case CompareOperator.lt:
                found = compared < wanted
            case _:
                found = compared <= wanted
        return and_(column.is_not(None), found)

    return condition


_ORDERINGS: dict[CompareOperator, Callable[[Any, Any], Any]] = {
    CompareOperator.eq: operator.eq,
    CompareOperator.ne: operator.ne,
    CompareOperator.gt: operator.gt,
    CompareOperator.ge: operator.ge,
    CompareOperator.lt: operator.lt,
    CompareOperator.le: operator.le,
}


def instant(column: SQLColumnExpression[Any]) -> Target:
    def condition(op: CompareOperator | None, value: Any) -> ColumnElement[bool]:
        if op is None:
            return true()
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise InvalidFilterException(detail=f"{value!r} is not a dateTime") from None
        if not isinstance(value, datetime):
            raise InvalidFilterException(detail=f"{value!r} is not a dateTime")
        compare = _ORDERINGS.get(op)
        if compare is None:
            raise InvalidFilterException(detail=f"{op} does not compare dateTimes")
        found: ColumnElement[bool] = compare(column, as_utc(value))
        return found

    return condition


def flag(condition_when_true: ColumnElement[bool]) -> Target:
    def condition(op: CompareOperator | None, value: Any) -> ColumnElement[bool]:
        if op is None:
            return true()
        if op not in (CompareOperator.eq, CompareOperator.ne) or not isinstance(value, bool):
            raise InvalidFilterException(detail="a boolean compares with eq or ne to true/false")
        wanted = value if op is CompareOperator.eq else not value
        return condition_when_true if wanted else not_(condition_when_true)

    return condition


def constant(stored: Any) -> Target:
    """An attribute every resource holds with the same value (a member's one email is
    ``work`` and ``primary``): decided here, not in SQL."""

    def condition(op: CompareOperator | None, value: Any) -> ColumnElement[bool]:
        if op is None:
            return true()
        if op is CompareOperator.eq:
            held = stored == value or (
                isinstance(value, str) and str(stored).lower() == value.lower()
            )
        elif op is CompareOperator.ne:
            held = stored != value
        else:
            held = isinstance(value, str) and {
                CompareOperator.co: value.lower() in str(stored).lower(),
                CompareOperator.sw: str(stored).lower().startswith(value.lower()),
                CompareOperator.ew: str(stored).lower().endswith(value.lower()),
            }.get(op, False)
        return true() if held else false()

    return condition


def related(link: Callable[[ColumnElement[bool]], Any], target: Target) -> Target:
    """An attribute of rows related to the resource (a group's members): some row matches."""

    def condition(op: CompareOperator | None, value: Any) -> ColumnElement[bool]:
        return exists().where(link(target(op, value)))

    return condition


class _Translator(FilterVisitor[ColumnElement[bool]]):
    def __init__(self, scim_filter: ScimFilter[Any], targets: Targets) -> None:
        self.filter = scim_filter
        self.targets = targets

    def _condition(
        self, path: AttrPath, op: CompareOperator | None, value: Any
    ) -> ColumnElement[bool]:
        # Not strict: a search of every resource type names attributes of only some of them.
        binding = (
            self.filter.resolve(path, strict=False)
            if op is None
            else self.filter.resolve_comparison(path, strict=False)
        )
        if binding is None:
            return false()
        target = self.targets.get((binding.field_name, binding.sub_field_name))
        if target is None:
            return false()
        return target(op, value)

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        return self._condition(node.attr_path, node.op, node.value)

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        return self._condition(node.attr_path, None, None)

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op is LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        # The inner filter names sub-attributes of the outer one: emails[type eq "work"].
        outer = node.attr_path
        return _Inner(self, outer).visit(node.val_filter)


class _Inner(_Translator):
    def __init__(self, outer: _Translator, attr: AttrPath) -> None:
        super().__init__(outer.filter, outer.targets)
        self.attr = attr

    def _condition(
        self, path: AttrPath, op: CompareOperator | None, value: Any
    ) -> ColumnElement[bool]:
        full = AttrPath(attr=self.attr.attr, sub_attr=path.attr, uri=self.attr.uri)
        return super()._condition(full, op, value)


def condition(scim_filter: ScimFilter[Any] | None, targets: Targets) -> ColumnElement[bool] | None:
    """The ``WHERE`` condition of a checked filter (None: no filter)."""
    if scim_filter is None:
        return None
    return _Translator(scim_filter, targets).visit(scim_filter.ast)
