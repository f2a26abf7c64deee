"""Baidu Cloud's request signature, ``bce-auth-v1``, checked on the server side (pure).

What a client (the ``qianfan`` SDK, through ``bce-python-sdk``) sends::

    Authorization: bce-auth-v1/{accessKey}/{timestamp}/{expiration}/{signedHeaders}/{signature}

    signingKey = hex(HMAC-SHA256(secretKey, "bce-auth-v1/{accessKey}/{timestamp}/{expiration}"))
    signature  = hex(HMAC-SHA256(signingKey, canonicalRequest))
    canonicalRequest = METHOD \\n path \\n canonical query \\n canonical headers

- path: percent-encoded except ``/`` (the SDK signs the route only, ``/v2/eval``);
- query: every parameter but ``authorization``, ``enc(k)=enc(v)``, sorted as whole strings,
  joined by ``&``;
- headers: each signed header with a non-empty value, ``enc(lower(name)):enc(trim(value))``,
  sorted, joined by newlines; the signed-header list's order in the Authorization header is
  arbitrary (the SDK builds it from a set); an empty list means ``host;content-md5;
  content-length;content-type``;
- ``enc``: UTF-8 bytes, ``A-Z a-z 0-9 - . _ ~`` kept, everything else ``%XX`` (upper case).

The body is not signed (by the scheme, not by us): the signature proves who sent the request
for a short time, to this host, for this action — which is what is checked here:
`verify` raises `SignatureError` with Baidu's error code for a malformed header, an unknown
key, a wrong signature, a request that has expired or comes from the future, and a signed
host that is not this service.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PREFIX = "bce-auth-v1"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_SIGNED_HEADERS = ("host", "content-md5", "content-length", "content-type")
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a signature's timestamp may be (clocks differ)."""
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class SignatureError(Exception):
    """A refused signature, with the HTTP status and code Baidu uses for it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def malformed(message: str) -> SignatureError:
    return SignatureError(400, "InvalidHTTPAuthHeader", message)


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an ``Authorization: bce-auth-v1/…`` header."""

    access_key: str
    timestamp: str
    signed_at: datetime
    expiration: int
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def prefix(self) -> str:
        return f"{PREFIX}/{self.access_key}/{self.timestamp}/{self.expiration}"


def uri_encode(text: str, *, keep_slash: bool = False) -> str:
    out = []
    for byte in text.encode("utf-8"):
        if byte in _UNRESERVED or (keep_slash and byte == ord("/")):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def canonical_query(query: list[tuple[str, str]]) -> str:
    pairs = [
        f"{uri_encode(key)}={uri_encode(value)}"
        for key, value in query
        if key.lower() != "authorization"
    ]
    return "&".join(sorted(pairs))


def canonical_headers(headers: Mapping[str, str], names: tuple[str, ...]) -> str:
    """``names`` must be lower case; ``headers`` is looked up case-insensitively."""
    lowered = {key.lower(): value for key, value in headers.items()}
    lines = []
    for name in dict.fromkeys(names):
        value = (lowered.get(name) or "").strip()
        if value:
            lines.append(f"{uri_encode(name)}:{uri_encode(value)}")
    return "\n".join(sorted(lines))


def canonical_request(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    names: tuple[str, ...],
) -> str:
    return "\n".join(
        [
            method.upper(),
            uri_encode(path, keep_slash=True),
            canonical_query(query),
            canonical_headers(headers, names),
        ]
    )


def sign(secret_key: str, prefix: str, request: str) -> str:
    """The signature of a canonical request under ``prefix`` (``bce-auth-v1/ak/ts/exp``)."""
    signing_key = hmac.new(secret_key.encode(), prefix.encode(), hashlib.sha256).hexdigest()
    return hmac.new(signing_key.encode(), request.encode(), hashlib.sha256).hexdigest()


def parse_authorization(value: str) -> SignedRequest:
    parts = value.strip().split("/")
    if len(parts) != 6 or parts[0] != PREFIX:
        raise malformed(
            "The HTTP authorization header is invalid: expected "
            "bce-auth-v1/{accessKey}/{timestamp}/{expirationSeconds}/{signedHeaders}/{signature}"
        )
    _, access_key, stamp, expiration, signed, signature = parts
    if not access_key or not signature:
        raise malformed("The HTTP authorization header is invalid: no access key or signature")
    try:
        signed_at = datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise malformed(
            f"The HTTP authorization header is invalid: timestamp {stamp!r} is not "
            "YYYY-MM-DDThh:mm:ssZ"
        ) from None
    if not (expiration.isascii() and expiration.isdigit()) or int(expiration) <= 0:
        raise malformed(
            f"The HTTP authorization header is invalid: expiration {expiration!r} is not a "
            "positive number of seconds"
        )
    names = tuple(n.strip().lower() for n in signed.split(";") if n.strip())
    return SignedRequest(
        access_key=access_key,
        timestamp=stamp,
        signed_at=signed_at,
        expiration=int(expiration),
        signed_headers=names or DEFAULT_SIGNED_HEADERS,
        signature=signature.lower(),
    )


def _host_variants(host: str) -> list[str]:
    """The Host value as received, then without its port (the Go SDK signs the bare host)."""
    variants = [host]
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if bare != host:
        variants.append(bare)
    return variants


def verify(
    authorization: str,
    *,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    secret_for: Callable[[str], str | None],
    now: datetime,
    max_age_seconds: int,
    hosts: frozenset[str] = frozenset(),
) -> SignedRequest:
    """Check one request's signature; return its parts, or raise `SignatureError`.

    ``secret_for(access_key)`` is the key's secret (None: unknown key). ``hosts``: the host
    names this service answers to (empty: any); the signed ``Host`` must be one of them.
    """
    signed = parse_authorization(authorization)
    if "host" not in signed.signed_headers:
        raise malformed("The HTTP authorization header is invalid: the host header must be signed")
    lowered = {key.lower(): value for key, value in headers.items()}
    host = (lowered.get("host") or "").strip()
    if not host:
        raise malformed("The request has no Host header to check the signature against")
    if hosts and host.lower() not in hosts and host.rsplit(":", 1)[0].lower() not in hosts:
        raise malformed(f"The signed host {host!r} is not this service")
    secret = secret_for(signed.access_key)
    if secret is None:
        raise SignatureError(
            403,
            "InvalidAccessKeyId",
            "The Access Key ID you provided does not exist in our records.",
        )
    matched = False
    for variant in _host_variants(host):
        request = canonical_request(
            method, path, query, {**lowered, "host": variant}, signed.signed_headers
        )
        if hmac.compare_digest(sign(secret, signed.prefix, request), signed.signature):
            matched = True
            break
    if not matched:
        raise SignatureError(
            400,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your Secret Access Key and signing method.",
        )
    valid_for = timedelta(seconds=min(signed.expiration, max_age_seconds))
    if now > signed.signed_at + valid_for:
        raise SignatureError(
            400, "RequestExpired", f"Request has expired. Timestamp date is {signed.timestamp}."
        )
    if signed.signed_at > now + CLOCK_SKEW:
        raise SignatureError(
            400,
            "RequestExpired",
            f"Request timestamp {signed.timestamp} is in the future (clock skew over "
            f"{int(CLOCK_SKEW.total_seconds())} s).",
        )
    return signed
