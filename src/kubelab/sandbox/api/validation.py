"""Validation shared by all kinds: object names and metadata.

Mirrors ``k8s.io/apimachinery/pkg/api/validation`` (``ValidateObjectMeta``) and
``k8s.io/apimachinery/pkg/util/validation`` (DNS-1123 labels and subdomains, label keys and
values). Messages match upstream wording, e.g. ``a lowercase RFC 1123 subdomain must consist
of lower case alphanumeric characters, '-' or '.', and must start and end with an
alphanumeric character (e.g. 'example.com', regex used for validation is …)``.
"""

from __future__ import annotations

import re
from typing import Any

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo

DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + r"(\." + DNS1123_LABEL + r")*"
_LABEL_RE = re.compile(f"^{DNS1123_LABEL}$")
_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN}$")
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_RE = re.compile(f"^{_QUALIFIED_NAME}$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# Kinds whose names must be DNS-1123 labels (63 chars, no dots), as upstream validates.
_LABEL_NAMED = {"Namespace", "Service"}


def _invalid(field: str, value: Any, detail: str) -> Cause:
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    return Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", field)


def _required(field: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""),
                 field)


def dns1123_label_errors(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_RE.match(value):
        errors.append(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
            "or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
            "or '123-abc', regex used for validation is '" + DNS1123_LABEL + "')")
    return errors


def dns1123_subdomain_errors(value: str) -> list[str]:
    errors = []
    if len(value) > 253:
        errors.append("must be no more than 253 characters")
    if not _SUBDOMAIN_RE.match(value):
        errors.append(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'example.com', regex used for validation is '" + DNS1123_SUBDOMAIN + "')")
    return errors


def label_key_errors(key: str) -> list[str]:
    prefix, _, name = key.rpartition("/")
    errors = []
    if prefix:
        errors += [f"prefix part {e}" for e in dns1123_subdomain_errors(prefix)]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_RE.match(name):
        errors.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
            "'123-abc', regex used for validation is '" + _QUALIFIED_NAME + "')")
    return errors


def label_value_errors(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.match(value):
        errors.append(
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
            "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    return errors


def validate_labels(labels: Any, field: str) -> list[Cause]:
    causes: list[Cause] = []
    if not isinstance(labels, dict):
        return causes
    for key, value in labels.items():
        for err in label_key_errors(str(key)):
            causes.append(_invalid(field, key, err))
        for err in label_value_errors(str(value) if value is not None else ""):
            causes.append(_invalid(f"{field}", value, err))
    return causes


def validate_object_meta(obj: dict[str, Any], info: KindInfo) -> list[Cause]:
    """``ValidateObjectMeta``: name (or generateName), namespace, labels."""
    meta = obj.get("metadata") or {}
    causes: list[Cause] = []
    name = meta.get("name", "")
    if not name:
        if not meta.get("generateName"):
            causes.append(_required("metadata.name", "name or generateName is required"))
    else:
        check = dns1123_label_errors if info.kind in _LABEL_NAMED else dns1123_subdomain_errors
        for err in check(name):
            causes.append(_invalid("metadata.name", name, err))
    causes += validate_labels(meta.get("labels"), "metadata.labels")
    return causes
