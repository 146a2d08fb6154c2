"""The one cursor-pagination helper every list uses."""

from __future__ import annotations

from shared.pagination import CursorPage, fetch_size


class NumberPage(CursorPage[str]):
    pass


def test_fetch_size_asks_for_one_more_row_than_the_page() -> None:
    assert fetch_size(50) == 51


def test_a_full_page_with_more_rows_carries_the_last_kept_items_cursor() -> None:
    rows = [1, 2, 3, 4]
    page = NumberPage.from_rows(rows, 3, item=lambda n: f"n{n}", cursor=lambda n: f"c{n}")
    assert page.items == ["n1", "n2", "n3"]
    assert page.next_cursor == "c3"


def test_the_last_page_has_no_cursor() -> None:
    page = NumberPage.from_rows([1, 2, 3], 3, item=str, cursor=str)
    assert page.items == ["1", "2", "3"]
    assert page.next_cursor is None
    empty = NumberPage.from_rows([], 3, item=str, cursor=str)
    assert empty.items == []
    assert empty.next_cursor is None


def test_the_json_shape_and_schema_name_stay_those_of_the_list() -> None:
    page = NumberPage.from_rows([1, 2], 1, item=str, cursor=str)
    assert page.model_dump(mode="json") == {"items": ["1"], "next_cursor": "1"}
    schema = NumberPage.model_json_schema()
    assert schema["title"] == "NumberPage"
    assert set(schema["properties"]) == {"items", "next_cursor"}
