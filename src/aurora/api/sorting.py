"""Server-side sorting of the console's tables: a list route names its sortable columns once, and
``?sort=COLUMN&order=asc|desc`` orders the filtered rows before the page is cut from them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import HTTPException, Query

T = TypeVar("T")
SortQuery = Annotated[
    str | None, Query(max_length=40, pattern=r"^[a-z_]+$", description="column to sort by")
]
OrderQuery = Annotated[Literal["asc", "desc"], Query(description="sort order")]


def sort_rows(
    rows: Sequence[T], sort: str | None, order: str, keys: dict[str, Callable[[T], Any]]
) -> list[T]:
    """``rows`` ordered by the column ``sort`` (as given when None); an unknown column is a 422
    naming the ones that exist. Ties keep their given order (newest first)."""
    if sort is None:
        return list(rows)
    key = keys.get(sort)
    if key is None:
        raise HTTPException(422, f"cannot sort by {sort!r}; use one of {', '.join(sorted(keys))}")
    return sorted(rows, key=key, reverse=order == "desc")
