"""Tests for pipeline.dates, the one date parser of feeds, pages and sitemaps.

The table holds the cases of the two parsers it replaced, feeds.parse_date and
extract.parse_datetime, with what each returned: every value either one read must read the
same for its callers (feeds: `parse_datetime`; pages: `plausible_datetime`, which adds the
bounds pages had), and a value only one of them read is now read for both."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipeline.dates import parse_datetime, parse_w3c_date, plausible_datetime

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# (value, what feeds.parse_date returned, what extract.parse_datetime(value, NOW) returned)
FORMER_RESULTS: list[tuple[object, datetime | None, datetime | None]] = [
    # ISO 8601, in the forms fromisoformat reads
    ("2024-03-05 10:00", utc(2024, 3, 5, 10), utc(2024, 3, 5, 10)),
    ("2024-05-01T10:00:00+02:00", utc(2024, 5, 1, 8), utc(2024, 5, 1, 8)),
    ("2024-01-02T03:04:05+01:00", utc(2024, 1, 2, 2, 4, 5), utc(2024, 1, 2, 2, 4, 5)),
    ("2024-03-05T10:00:00.123+0530", utc(2024, 3, 5, 4, 30, 0, 123000),
     utc(2024, 3, 5, 4, 30, 0, 123000)),
    ("2024-03-05T10:00:00 +01:00", utc(2024, 3, 5, 9), utc(2024, 3, 5, 9)),
    ("  2024-03-05T10:00Z  ", utc(2024, 3, 5, 10), utc(2024, 3, 5, 10)),
    ("2024-03-05", utc(2024, 3, 5), utc(2024, 3, 5)),
    ("20240305", utc(2024, 3, 5), utc(2024, 3, 5)),
    ("20240305T100000Z", utc(2024, 3, 5, 10), utc(2024, 3, 5, 10)),
    ("2024-03-05T10", utc(2024, 3, 5, 10), utc(2024, 3, 5, 10)),
    ("2024-W10-2", utc(2024, 3, 5), utc(2024, 3, 5)),
    # RFC 822 / 2822 and RFC 850
    ("Tue, 05 Mar 2024 10:00:00 +0100", utc(2024, 3, 5, 9), utc(2024, 3, 5, 9)),
    ("Tue, 10 Jun 2003 09:00:00 GMT", utc(2003, 6, 10, 9), utc(2003, 6, 10, 9)),
    ("05 Mar 2024 10:00:00 GMT", utc(2024, 3, 5, 10), utc(2024, 3, 5, 10)),
    ("Tue, 05 Mar 2024 10:00:00", utc(2024, 3, 5, 10), utc(2024, 3, 5, 10)),
    ("Tue, 5 Mar 24 10:00 EST", utc(2024, 3, 5, 15), utc(2024, 3, 5, 15)),
    ("Tuesday, 05-Mar-24 10:00:00 GMT", utc(2024, 3, 5, 10), utc(2024, 3, 5, 10)),
    # read by the page parser only: Unix epochs, an ISO date inside text, date objects
    ("1709632800", None, utc(2024, 3, 5, 10)),
    ("1709632800000", None, utc(2024, 3, 5, 10)),
    ("1234567890", None, utc(2009, 2, 13, 23, 31, 30)),
    ("Published 2024-03-05T10:00:00Z", None, utc(2024, 3, 5, 10)),
    ("Stand: 2024-03-05 10:00 Uhr", None, utc(2024, 3, 5, 10)),
    (datetime(2024, 3, 5, 10), None, utc(2024, 3, 5, 10)),
    (datetime(2024, 3, 5, 11, tzinfo=datetime.fromisoformat("2024-03-05T11:00+01:00").tzinfo),
     None, utc(2024, 3, 5, 10)),
    (date(2024, 3, 5), None, utc(2024, 3, 5)),
    # read by both, out of the page parser's bounds (before 1990, more than a day ahead)
    ("1985-01-01", utc(1985, 1, 1), None),
    ("2030-01-01T00:00:00Z", utc(2030, 1, 1), None),
    ("2026-01-02T12:00:00Z", utc(2026, 1, 2, 12), None),
    ("2026-01-01T20:00:00Z", utc(2026, 1, 1, 20), utc(2026, 1, 1, 20)),  # within a day
    # an epoch the page parser read but put beyond its bounds
    ("9999999999", None, None),
    ("2024030510", None, None),  # 10 digits: an epoch in 2034, not 2024-03-05 10:00
    # read by neither
    ("garbage", None, None),
    ("not a date", None, None),
    ("", None, None),
    ("   ", None, None),
    ("2024-03-05T25:00", None, None),
    ("9999-99-99", None, None),
    ("Mar 5, 2024", None, None),
    ("5 March 2024", None, None),
    ("24-03-05", None, None),
    ("12:00", None, None),
    ("0000000000", None, None),
    (None, None, None),
    (1709632800, None, None),
    (["2024-03-05"], None, None),
]


@pytest.mark.parametrize(("value", "feeds", "pages"), FORMER_RESULTS, ids=repr)
def test_every_former_case_reads_as_before(
    value: object, feeds: datetime | None, pages: datetime | None
) -> None:
    parsed = parse_datetime(value)
    if feeds is not None:
        assert parsed == feeds
    assert plausible_datetime(value, NOW) == pages
    if pages is not None:
        assert parsed == pages  # the union: feeds read what pages read
    if parsed is not None:
        assert parsed.tzinfo is UTC


def test_union_of_the_two_former_parsers() -> None:
    """Feeds now read epochs and ISO dates inside text; pages keep their bounds."""
    assert parse_datetime("1709632800") == utc(2024, 3, 5, 10)
    assert parse_datetime("Published 2024-03-05T10:00:00Z") == utc(2024, 3, 5, 10)
    assert parse_datetime("9999999999") == utc(2286, 11, 20, 17, 46, 39)
    assert parse_datetime("1985-01-01") == utc(1985, 1, 1)
    assert plausible_datetime("1985-01-01", NOW) is None


def test_plausible_datetime_defaults_to_the_clock() -> None:
    assert plausible_datetime("2099-01-01T00:00:00Z") is None
    assert plausible_datetime("2024-03-05T10:00:00Z") == utc(2024, 3, 5, 10)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_offset_out_of_range_raises_as_before_except_in_sitemaps(value: str) -> None:
    with pytest.raises(OverflowError):
        parse_datetime(value)
    with pytest.raises(OverflowError):
        plausible_datetime(value, NOW)
    assert parse_w3c_date(value) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", utc(2024, 1, 1)),
        ("2024-05", utc(2024, 5, 1)),
        ("2024-05-02", utc(2024, 5, 2)),
        ("2024-05-02T10:30+02:00", utc(2024, 5, 2, 8, 30)),
        ("Thu, 02 May 2024 10:30:00 +0000", utc(2024, 5, 2, 10, 30)),
        ("1985-01-01", utc(1985, 1, 1)),  # sitemaps have no lower bound
        ("2024-13", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_w3c_dates_of_sitemaps(text: str | None, expected: datetime | None) -> None:
    assert parse_w3c_date(text) == expected
