"""Object name checks (DNS-1123) and ``generateName`` suffixes, as the API server does them."""

from __future__ import annotations

import random
import re

from modeleval_testkit.apiserver.fielderrors import FieldError, invalid

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(\.{_LABEL})*"
_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"

# Kinds whose names must be DNS-1123 labels; RBAC kinds only need to be path segments.
LABEL_KINDS = {("", "namespaces"), ("", "services")}
PATH_SEGMENT_KINDS = {
    ("rbac.authorization.k8s.io", plural)
    for plural in ("roles", "rolebindings", "clusterroles", "clusterrolebindings")
}


def generate_name(prefix: str) -> str:
    """``prefix`` plus five random characters, as the API server generates them."""
    return prefix + "".join(random.choice(_SUFFIX_CHARS) for _ in range(5))


def name_errors(kind: tuple[str, str], name: str) -> list[FieldError]:
    """Why ``name`` is not a valid name for an object of ``kind`` (empty when valid)."""
    path = "metadata.name"
    if kind in PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return [invalid(path, name, "may not contain '/' or '%' and may not be '.' or '..'")]
        return []
    if kind in LABEL_KINDS:
        if len(name) > 63 or not re.fullmatch(_LABEL, name):
            return [
                invalid(
                    path,
                    name,
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric"
                    " characters or '-', and must start and end with an alphanumeric character"
                    f" (e.g. 'my-name',  or '123-abc', regex used for validation is '{_LABEL}')",
                )
            ]
        return []
    if len(name) > 253 or not re.fullmatch(_SUBDOMAIN, name):
        return [
            invalid(
                path,
                name,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric"
                " characters, '-' or '.', and must start and end with an alphanumeric character"
                f" (e.g. 'example.com', regex used for validation is '{_SUBDOMAIN}')",
            )
        ]
    return []
