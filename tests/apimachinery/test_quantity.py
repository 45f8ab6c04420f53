"""Quantities parse exactly and print in the API server's canonical form."""

from fractions import Fraction

import pytest

from kubelab.apimachinery import quantity


@pytest.mark.parametrize(("text", "value"), [
    ("100m", Fraction(1, 10)), ("100Mi", 100 * 2**20), ("1Gi", 2**30), ("2", 2),
    ("1e3", 1000), ("1.5", Fraction(3, 2)), ("1k", 1000), ("-1", -1), ("12e-3", Fraction(12, 1000)),
    ("0.0000000001", Fraction(1, 10**9)),  # finer than nano rounds up
])
def test_parse(text: str, value: Fraction) -> None:
    assert quantity.parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1..2", "NaN", "Infinity", "1ki", "1Kii", "1_000"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        quantity.parse_quantity(text)


def test_error_wording_matches_upstream() -> None:
    with pytest.raises(ValueError, match=r"quantities must match the regular expression "
                                         r"'\^\(\[\+-\]\?\[0-9\.\]\+\)"):
        quantity.parse_quantity("abc")
    with pytest.raises(ValueError, match="unable to parse quantity's suffix"):
        quantity.parse_quantity("1ki")


@pytest.mark.parametrize(("text", "canonical"), [
    ("0.5", "500m"), ("1.5Gi", "1536Mi"), ("2000m", "2"), ("1000", "1k"), ("1500", "1500"),
    ("1e3", "1e3"), ("128Mi", "128Mi"), ("1000Mi", "1000Mi"), ("1023", "1023"),
    ("1024", "1024"), ("1024Ki", "1Mi"), ("0", "0"), ("100m", "100m"),
])
def test_canonicalize(text: str, canonical: str) -> None:
    assert quantity.canonicalize(text) == canonical


def test_canonicalize_milli_rounds_up() -> None:
    assert quantity.canonicalize("0.0001") == "100u"
    assert quantity.canonicalize("0.0001", milli=True) == "1m"


@pytest.mark.parametrize(("millis", "shown"), [(250, "250m"), (1000, "1"), (1500, "1500m"),
                                               (0, "0"), (2000, "2")])
def test_format_cpu_millis(millis: int, shown: str) -> None:
    assert quantity.format_cpu_millis(millis) == shown


@pytest.mark.parametrize(("count", "shown"), [(128 * 2**20, "128Mi"), (4 * 2**30, "4Gi"),
                                              (1000, "1k"), (1500, "1500"), (0, "0")])
def test_format_bytes(count: int, shown: str) -> None:
    assert quantity.format_bytes(count) == shown


def test_round_trip_is_exact() -> None:
    total = sum(quantity.parse_quantity(q) for q in ["100m", "250m", "650m"])
    assert total == 1
    assert quantity.format_cpu_millis(total * 1000) == "1"
