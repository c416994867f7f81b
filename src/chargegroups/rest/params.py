"""Path and query parameters shared by the REST endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

PathId = Annotated[str, Path(min_length=1, max_length=36, description="An object id.")]
CursorParam = Annotated[str | None, Query(max_length=200, description="From next_cursor.")]
