"""Pure onboarding rules: email syntax and the shape of a members CSV file."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email

from chargegroups.errors import InvalidInput
from chargegroups.kit.instants import EARLIEST, LATEST
from chargegroups.kit.text import line_problem
from chargegroups.user.rules import normalize_email

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
IMPORT_COLUMNS = ("email", "name", "token_uid", "valid_until")
IMPORT_REQUIRED = ("email", "name")
MAX_IMPORT_ROWS = 10_000
MAX_NAME = 200
MAX_UID = 64


# The tokens of the links onboarding mails (invitation, join link, email verification).
_LINK_TOKEN = re.compile(r"\b(cg_(?:inv|join|ver))_[A-Za-z0-9_-]+")


def redact_link_tokens(text: str) -> str:
    """``text`` with every onboarding link's token blanked out: what an admin reading the
    outbox sees. The token works only for the addressee (or a join link's holders); the email
    itself still carries it."""
    return _LINK_TOKEN.sub(r"\1_[redacted]", text)


def email_problem(email: str) -> str | None:
    """Why ``email`` is not a usable address, or None when it is."""
    if len(email) > 320:
        return "longer than 320 characters"
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def checked_email(email: str) -> str:
    """The address as typed (stripped), or InvalidInput when it is not an address."""
    cleaned = email.strip()
    problem = email_problem(cleaned)
    if problem is not None:
        raise InvalidInput(f"Not a valid email address: {problem}", code="invalid_email")
    return cleaned


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    email: str
    email_normalized: str
    name: str
    token_uid: str | None
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    reason: str


def csv_text(raw: bytes) -> str:
    """An uploaded CSV file's text: UTF-8, with or without a byte order mark."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "The file is not UTF-8 text.",
            code="import_invalid",
            errors=[{"line": 1, "field": "file", "reason": "not UTF-8 text"}],
        ) from None


def parse_members_csv(text: str) -> tuple[list[ImportRow], list[RowError]]:
    """Rows and every error that needs no database: header, syntax, duplicates in the file.

    Columns (a header line is required, any order): email, name, and optionally token_uid (an
    RFID card's uid) and valid_until (when that card expires, RFC 3339 with a zone offset).
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(1, "header", "the file is empty")]
    except csv.Error as exc:
        return [], [RowError(1, "header", f"not CSV: {exc}")]
    columns = [c.strip().lower() for c in header]
    errors = [
        RowError(1, "header", f"unknown column {c!r}") for c in columns if c not in IMPORT_COLUMNS
    ]
    errors += [
        RowError(1, "header", f"missing column {c!r}") for c in IMPORT_REQUIRED if c not in columns
    ]
    if len(set(columns)) != len(columns):
        errors.append(RowError(1, "header", "a column appears twice"))
    if errors:
        return [], errors
    rows: list[ImportRow] = []
    first_line_of_email: dict[str, int] = {}
    first_line_of_uid: dict[str, int] = {}
    line = reader.line_num
    records = 0
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            records += 1
            if records > MAX_IMPORT_ROWS:
                errors.append(RowError(line, "file", f"more than {MAX_IMPORT_ROWS} rows"))
                break
            if len(record) != len(columns):
                errors.append(
                    RowError(line, "row", f"{len(record)} fields, the header has {len(columns)}")
                )
                continue
            values = {c: v.strip() for c, v in zip(columns, record, strict=True)}
            row, row_errors = _row(line, values, first_line_of_email, first_line_of_uid)
            errors += row_errors
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        errors.append(RowError(line + 1, "row", f"not CSV: {exc}"))
    return rows, errors


def _row(
    line: int,
    values: dict[str, str],
    first_line_of_email: dict[str, int],
    first_line_of_uid: dict[str, int],
) -> tuple[ImportRow | None, list[RowError]]:
    errors: list[RowError] = []
    email = values["email"]
    problem = email_problem(email)
    normalized = normalize_email(email)
    if problem is not None:
        errors.append(RowError(line, "email", problem))
    elif normalized in first_line_of_email:
        errors.append(
            RowError(line, "email", f"duplicate of line {first_line_of_email[normalized]}")
        )
    else:
        first_line_of_email[normalized] = line
    name = values["name"]
    if not name or len(name) > MAX_NAME:
        errors.append(RowError(line, "name", f"required, at most {MAX_NAME} characters"))
    elif (problem := line_problem(name)) is not None:
        errors.append(RowError(line, "name", problem))
    uid = values.get("token_uid") or None
    if uid is not None:
        if (problem := line_problem(uid)) is not None:
            errors.append(RowError(line, "token_uid", problem))
        elif len(uid) > MAX_UID:
            errors.append(RowError(line, "token_uid", f"longer than {MAX_UID} characters"))
        elif uid.lower() in first_line_of_uid:
            errors.append(
                RowError(line, "token_uid", f"duplicate of line {first_line_of_uid[uid.lower()]}")
            )
        else:
            first_line_of_uid[uid.lower()] = line
    valid_until = None
    raw_until = values.get("valid_until") or ""
    if raw_until:
        try:
            valid_until = datetime.fromisoformat(raw_until)
        except ValueError:
            valid_until = None
        if valid_until is None or valid_until.tzinfo is None:
            errors.append(RowError(line, "valid_until", "not an RFC 3339 time with a zone offset"))
        elif not EARLIEST <= valid_until < LATEST:
            errors.append(RowError(line, "valid_until", "not between the years 2000 and 2100"))
        elif uid is None:
            errors.append(RowError(line, "valid_until", "needs a token_uid it applies to"))
    if errors:
        return None, errors
    return ImportRow(line, email, normalized, name, uid, valid_until), []
