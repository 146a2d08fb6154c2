"""Download headers for any file name, including ones built from odd client input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.downloads import attachment


def test_a_plain_name_is_left_as_it_is() -> None:
    assert (
        attachment("intent-examples-acme.csv") == 'attachment; filename="intent-examples-acme.csv"'
    )


def test_other_characters_get_an_ascii_copy_and_the_exact_name_encoded() -> None:
    header = attachment('kpis-añil "x"\r\n.csv')
    assert header.startswith("attachment; filename=\"kpis-a_il__x___.csv\"; filename*=UTF-8''")
    assert "a%C3%B1il%20%22x%22%0D%0A.csv" in header


@given(st.text())
def test_every_name_makes_a_latin1_header_without_line_breaks(name: str) -> None:
    header = attachment(name)
    header.encode("latin-1")
    assert "\r" not in header
    assert "\n" not in header
