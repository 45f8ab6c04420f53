"""Kubernetes resource quantities (``100m``, ``128Mi``, ``1e3``), parsed and printed exactly.

Mirrors ``k8s.io/apimachinery/pkg/api/resource/quantity.go``: the grammar
``<signedNumber><suffix>``, the three formats (``DecimalSI``, ``BinarySI``,
``DecimalExponent``) remembered from the suffix, rounding up to nano precision, and the
*canonical* form the API server writes back (``0.5`` → ``500m``, ``1.5Gi`` → ``1536Mi``,
``2000m`` → ``2``). Values are :class:`fractions.Fraction`, so arithmetic on requests and
capacities is exact, as ``inf.Dec`` makes it upstream.

The official client's ``kubernetes.utils.parse_quantity`` is not used: it accepts inputs the
API server rejects (``NaN``, ``Infinity``, ``1_000``) and knows no canonical form, which the
server needs to echo quantities the way a real cluster does.
"""

from __future__ import annotations

import re
from fractions import Fraction
from math import ceil, floor

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

#: The error upstream returns for a string that is not a quantity at all.
FORMAT_ERROR = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
SUFFIX_ERROR = "unable to parse quantity's suffix"

_SPLIT_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_NUMBER_RE = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$")
_EXPONENT_RE = re.compile(r"^[eE][-+]?[0-9]+$")

_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
                     "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXP = {0: ""} | {v: k for k, v in _BINARY_SUFFIXES.items()}
_NANO = Fraction(1, 10**9)
#: ``maxAllowed`` in quantity.go: no quantity is larger than the largest int64.
MAX_ALLOWED = Fraction(2**63 - 1)


def _round_away(value: Fraction, unit: Fraction) -> Fraction:
    """Round ``value`` to a multiple of ``unit``, away from zero (``RoundUp`` upstream)."""
    steps = value / unit
    whole = ceil(steps) if steps >= 0 else floor(steps)
    return whole * unit


def parse_quantity_format(text: str) -> tuple[Fraction, str]:
    """Parse a quantity; return its exact value and format. Raises ``ValueError``."""
    if not isinstance(text, str) or not text:
        raise ValueError(FORMAT_ERROR)
    text = text.strip()
    match = _SPLIT_RE.match(text)
    if not match:
        raise ValueError(FORMAT_ERROR)
    number, suffix = match.group(1), match.group(2)
    if not _NUMBER_RE.match(number):
        raise ValueError(FORMAT_ERROR)
    exp10, exp2 = 0, 0
    if suffix in _DECIMAL_SUFFIXES:
        fmt = DECIMAL_SI
        exp10 = _DECIMAL_SUFFIXES[suffix]
    elif suffix in _BINARY_SUFFIXES:
        fmt = BINARY_SI
        exp2 = _BINARY_SUFFIXES[suffix]
    elif _EXPONENT_RE.match(suffix):
        fmt = DECIMAL_EXPONENT
        exp10 = int(suffix[1:])
    else:
        raise ValueError(SUFFIX_ERROR)
    value = _bounded(number, exp10, exp2)
    # Upstream keeps at most nano precision, rounding anything finer up.
    if (value / _NANO).denominator != 1:
        value = _round_away(value, _NANO)
    return value, fmt


def _bounded(number: str, exp10: int, exp2: int) -> Fraction:
    """``number`` * 10**exp10 * 2**exp2, capped at ±(2**63 - 1) like ``ParseQuantity``.

    Upstream caps every quantity at ``maxAllowed`` (the largest int64) and rounds any
    non-zero amount below one nano up to ``1n``; so ``1e999999`` is 9223372036854775807
    and ``1e-999999`` is ``1n``. The value is bounded from its digits *before* any power of
    ten is computed, so a huge exponent or a million-digit number costs nothing.
    """
    negative = number.startswith("-")
    whole, _, frac = number.lstrip("+-").partition(".")
    digits = (whole + frac).lstrip("0")
    if not digits:
        return Fraction(0)
    # value = 0.<digits> * 10**magnitude * 2**exp2
    magnitude = len(whole.lstrip("0")) if whole.strip("0") else \
        -(len(frac) - len(frac.lstrip("0")))
    magnitude += exp10
    if magnitude > 20:  # ≥ 10**20 > MAX_ALLOWED already
        value = MAX_ALLOWED
    elif magnitude < -12:  # below 10**-12: non-zero, so one nano after rounding up
        value = _NANO
    else:
        kept = digits[:60]
        value = Fraction(int(kept), 10 ** len(kept)) * Fraction(10) ** magnitude
        if digits[60:].strip("0"):
            value += Fraction(1, 10**80)  # finer digits still round up
        value = min(value * 2**exp2, MAX_ALLOWED)
    return -value if negative else value


def parse_quantity(text: str) -> Fraction:
    """Parse ``100m``, ``100Mi``, ``1Gi``, ``2``, ``1e3``, ``1.5`` to an exact value."""
    return parse_quantity_format(text)[0]


def _remove_factors(value: int, base: int) -> tuple[int, int]:
    times = 0
    while value != 0 and value % base == 0:
        value //= base
        times += 1
    return value, times


def _decimal_canonical(value: Fraction) -> tuple[int, int]:
    """Mantissa and exponent (a multiple of 3) as ``AsCanonicalBytes`` chooses them."""
    exponent = 0
    scaled = value
    while scaled.denominator != 1:
        scaled *= 10
        exponent -= 1
    mantissa, times = _remove_factors(int(scaled), 10)
    exponent += times
    shift = exponent % 3
    mantissa *= 10**shift
    exponent -= shift
    return mantissa, exponent


def format_quantity(value: Fraction | int, fmt: str = DECIMAL_SI) -> str:
    """The canonical string of a quantity in ``fmt`` (``Quantity.String()`` upstream)."""
    value = Fraction(value)
    if value == 0:
        return "0"
    if fmt == BINARY_SI and (-1024 < value < 1024 or value.denominator != 1):
        fmt = DECIMAL_SI
    if fmt == BINARY_SI:
        _, times = _remove_factors(int(value), 1024)
        times = min(times, 6)
        mantissa = int(value) // 1024**times
        return f"{mantissa}{_BINARY_BY_EXP[times * 10]}"
    mantissa, exponent = _decimal_canonical(value)
    if fmt == DECIMAL_EXPONENT:
        return f"{mantissa}" if exponent == 0 else f"{mantissa}e{exponent}"
    if exponent in _DECIMAL_BY_EXP:
        return f"{mantissa}{_DECIMAL_BY_EXP[exponent]}"
    return f"{mantissa}e{exponent}"


def canonicalize(text: str, *, milli: bool = False) -> str:
    """Re-print a quantity as the API server stores it; ``milli`` rounds up to ``1m``.

    ``SetDefaults_ResourceList`` rounds resource lists up to milli precision, so
    ``canonicalize("0.5", milli=True) == "500m"``. Raises ``ValueError`` for bad input.
    """
    value, fmt = parse_quantity_format(text)
    if milli:
        value = _round_away(value, Fraction(1, 1000))
    return format_quantity(value, fmt)


def format_cpu_millis(millis: int | Fraction) -> str:
    """CPU as ``kubectl describe`` prints it: ``250m``, ``1``, ``1500m``."""
    return format_quantity(Fraction(millis) / 1000, DECIMAL_SI)


def format_bytes(count: int | Fraction) -> str:
    """Memory as ``kubectl describe`` prints it: ``128Mi``, ``1Gi``, ``1k`` (below 1 Ki)."""
    return format_quantity(Fraction(count), BINARY_SI)
