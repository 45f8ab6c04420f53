"""Query parameters, typed as kube-apiserver types them.

The API server decodes the query string into ``ListOptions``, ``DeleteOptions``,
``CreateOptions``/``UpdateOptions``/``PatchOptions`` and ``PodLogOptions`` with its parameter
codec (``apimachinery/pkg/runtime`` ``Convert_Slice_string_To_*``) and answers a value that
does not convert with ``400 BadRequest`` and ``strconv``'s own message
(``strconv.ParseInt: parsing "abc": invalid syntax``). Booleans never fail: only ``0`` and
``false`` (any case) are false. Then the options are validated
(``apimachinery/pkg/apis/meta/v1/validation``): an unknown ``dryRun`` value, field
validation directive or propagation policy is ``422 Invalid`` on the options kind
(``CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: …``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from kubelab.sandbox.api import errors
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.validation import go_string_slice, not_supported

_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_INT64 = (-(2**63), 2**63 - 1)

DRY_RUN_VALUES = ("All",)
FIELD_VALIDATION_VALUES = ("Ignore", "Strict", "Warn")
PROPAGATION_VALUES = ("Foreground", "Background", "Orphan")
_OPTIONS_KIND = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions",
                 "DELETE": "DeleteOptions"}


def parse_int64(text: str) -> int:
    """``strconv.ParseInt(text, 10, 64)``; raises 400 with strconv's wording."""
    if not _INT_RE.match(text):
        raise errors.bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    value = int(text)
    if not _INT64[0] <= value <= _INT64[1]:
        raise errors.bad_request(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def int_param(query: Mapping[str, str], name: str) -> int | None:
    """An ``*int64`` option: None when absent."""
    if name not in query:
        return None
    return parse_int64(query[name])


def bool_param(query: Mapping[str, str], name: str) -> bool:
    """``Convert_Slice_string_To_bool``: absent, ``0`` or ``false`` is false; all else true."""
    if name not in query:
        return False
    value = query[name]
    return not (value == "0" or value.lower() == "false")


def _options_invalid(kind: str, field: str, value: object,
                     supported: Sequence[str]) -> ApiError:
    options = KindInfo("meta.k8s.io", "v1", kind, kind.lower(), kind.lower(), False)
    return errors.invalid(options, "", [not_supported(field, value, supported)])


def check_write_options(method: str, dry_run: Sequence[str], field_validation: str | None
                        ) -> None:
    """``ValidateDryRun`` and ``ValidateFieldValidation`` for a write of ``method``."""
    kind = _OPTIONS_KIND.get(method, "CreateOptions")
    if any(v not in DRY_RUN_VALUES for v in dry_run):
        raise _options_invalid(kind, "dryRun", go_string_slice(dry_run), DRY_RUN_VALUES)
    if field_validation and field_validation not in FIELD_VALIDATION_VALUES:
        raise _options_invalid(kind, "fieldValidation", field_validation,
                               FIELD_VALIDATION_VALUES)


def check_propagation(policy: object) -> None:
    """``ValidateDeleteOptions``: the propagation policy is one of the three, or unset."""
    if policy is not None and policy not in PROPAGATION_VALUES:
        raise _options_invalid("DeleteOptions", "propagationPolicy", policy,
                               (*PROPAGATION_VALUES, "nil"))
