"""bce-auth-v1 verification against vectors the qianfan SDK's own signer produced
(``qianfan.resources.auth.iam.iam_sign`` with a frozen clock; the SDK's signed-header order,
which comes from a Python set, kept as it was), and every way a signature is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modeleval.console.vendors import bce_auth
from modeleval.console.vendors.bce_auth import SignatureError, verify

AK = "AKIDEXAMPLE0000000000000000000000"
SK = "SKEXAMPLE1111111111111111111111111"
SDK_HEADERS = {"Content-Type": "application/json", "request-source": "qianfan_py_sdk_v0.4.12.3"}

# (action, Host, x-bce-date, expiration, Authorization the SDK sent)
SDK_VECTORS = [
    (
        "DescribeEvalTask",
        "127.0.0.1:8765",
        "2024-05-06T12:53:20Z",
        "bce-auth-v1/AKIDEXAMPLE0000000000000000000000/2024-05-06T12:53:20Z/300/"
        "x-bce-date;request-source;content-type;host/"
        "cd1939a83fbdb0c9c614a5b16a389b51da34c902e1390548fccd75d473b039f0",
    ),
    (
        "CreateEvalTask",
        "qianfan.baidubce.com",
        "2024-01-01T00:00:00Z",
        "bce-auth-v1/AKIDEXAMPLE0000000000000000000000/2024-01-01T00:00:00Z/300/"
        "x-bce-date;request-source;content-type;host/"
        "aaf004b8fa08c7fe47ac21c54aab373eb017182a3936c2eaf3fd10d49bb5bd4a",
    ),
    (
        "StopEvalTask",
        "modeleval.example.svc:8080",
        "2024-09-20T02:31:36Z",
        "bce-auth-v1/AKIDEXAMPLE0000000000000000000000/2024-09-20T02:31:36Z/1800/"
        "x-bce-date;request-source;content-type;host/"
        "296157ae6cc37beaf4b8a240f9f9bd58ddca6cc1820c2988cc9705fbb3f42f6e",
    ),
]


def at(stamp: str, seconds: int = 10) -> datetime:
    return datetime.strptime(stamp, bce_auth.TIME_FORMAT).replace(tzinfo=UTC) + timedelta(
        seconds=seconds
    )


def check(
    authorization: str,
    *,
    host: str = "127.0.0.1:8765",
    date: str = "2024-05-06T12:53:20Z",
    action: str = "DescribeEvalTask",
    now: datetime | None = None,
    secret: str | None = SK,
    headers: dict[str, str] | None = None,
    hosts: frozenset[str] = frozenset(),
    max_age: int = 3600,
) -> bce_auth.SignedRequest:
    return verify(
        authorization,
        method="POST",
        path="/v2/eval",
        query=[("Action", action)],
        headers=headers
        if headers is not None
        else {**SDK_HEADERS, "Host": host, "x-bce-date": date},
        secret_for=lambda ak: secret if ak == AK else None,
        now=now or at(date),
        max_age_seconds=max_age,
        hosts=hosts,
    )


@pytest.mark.parametrize(("action", "host", "date", "authorization"), SDK_VECTORS)
def test_the_sdks_own_signatures_verify(
    action: str, host: str, date: str, authorization: str
) -> None:
    signed = check(authorization, host=host, date=date, action=action)
    assert signed.access_key == AK
    assert set(signed.signed_headers) == {"host", "content-type", "request-source", "x-bce-date"}


def test_query_escaping_and_a_restricted_header_list() -> None:
    """The SDK's signer over an escaped query with only host and x-bce-date signed: the
    unsigned Content-Type may be anything."""
    authorization = (
        "bce-auth-v1/AKIDEXAMPLE0000000000000000000000/2024-05-06T12:00:00Z/1800/host;x-bce-date/"
        "5af33fecd869d4387dca458b49d0fb7d7c391e8225a6c940fa39a7478e4a652a"
    )
    headers = {
        "Host": "127.0.0.1:8765",
        "Content-Type": "text/plain",
        "x-bce-date": "2024-05-06T12:00:00Z",
    }
    signed = verify(
        authorization,
        method="POST",
        path="/v2/eval",
        query=[("Action", "DescribeEvalTasks"), ("b", "x y/z"), ("a", "")],
        headers=headers,
        secret_for=lambda ak: SK,
        now=at("2024-05-06T12:00:00Z"),
        max_age_seconds=3600,
    )
    assert signed.signed_headers == ("host", "x-bce-date")
    assert bce_auth.canonical_query([("b", "x y/z"), ("a", ""), ("Action", "X")]) == (
        "Action=X&a=&b=x%20y%2Fz"
    )


def refused(code: str, status: int, **kwargs: object) -> SignatureError:
    authorization = str(kwargs.pop("authorization", SDK_VECTORS[0][3]))
    with pytest.raises(SignatureError) as caught:
        check(authorization, **kwargs)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.status) == (code, status), caught.value.message
    return caught.value


def test_a_wrong_secret_key_unknown_key_and_tampering_are_refused() -> None:
    refused("SignatureDoesNotMatch", 400, secret="SK-wrong")
    refused("InvalidAccessKeyId", 403, secret=None)
    other = {**SDK_HEADERS, "Host": "127.0.0.1:8765", "x-bce-date": "2024-05-06T12:53:20Z"}
    refused("SignatureDoesNotMatch", 400, headers={**other, "request-source": "changed"})
    refused("SignatureDoesNotMatch", 400, action="DeleteEvalTask")
    refused("SignatureDoesNotMatch", 400, host="elsewhere:8765")


def test_expiry_is_the_signatures_own_and_capped() -> None:
    date = "2024-05-06T12:53:20Z"
    assert check(SDK_VECTORS[0][3], now=at(date, 299))
    error = refused("RequestExpired", 400, now=at(date, 301))
    assert date in error.message
    # a signature claiming a long life lives no longer than the console allows
    long = SDK_VECTORS[2][3]
    kwargs = {"host": "modeleval.example.svc:8080", "date": "2024-09-20T02:31:36Z"}
    assert check(long, action="StopEvalTask", now=at(kwargs["date"], 1000), **kwargs)
    with pytest.raises(SignatureError, match="expired"):
        check(long, action="StopEvalTask", now=at(kwargs["date"], 1000), max_age=600, **kwargs)
    refused("RequestExpired", 400, now=at(date, -600))  # from the future


def test_malformed_headers_and_an_unsigned_host_are_refused() -> None:
    for bad in (
        "bce-auth-v1/only/three",
        "bce-auth-v2/a/2024-05-06T12:53:20Z/300/host/abc",
        "bce-auth-v1/AK/yesterday/300/host/abc",
        "bce-auth-v1/AK/2024-05-06T12:53:20Z/-5/host/abc",
        "bce-auth-v1//2024-05-06T12:53:20Z/300/host/abc",
    ):
        refused("InvalidHTTPAuthHeader", 400, authorization=bad)
    error = refused(
        "InvalidHTTPAuthHeader",
        400,
        authorization=SDK_VECTORS[0][3].replace(
            "x-bce-date;request-source;content-type;host", "x-bce-date"
        ),
    )
    assert "host" in error.message


def test_the_signed_host_must_be_this_service_when_it_is_known() -> None:
    assert check(SDK_VECTORS[0][3], hosts=frozenset({"127.0.0.1"}))
    error = refused("InvalidHTTPAuthHeader", 400, hosts=frozenset({"console.example.com"}))
    assert "127.0.0.1:8765" in error.message


def test_a_signature_over_the_bare_host_is_accepted_as_the_go_sdk_sends_it() -> None:
    """The Go SDK signs Host without its port while net/http sends host:port."""
    date = "2024-05-06T12:53:20Z"
    prefix = f"bce-auth-v1/{AK}/{date}/300"
    headers = {"Host": "127.0.0.1", "x-bce-date": date}
    request = bce_auth.canonical_request(
        "POST", "/v2/eval", [("Action", "DescribeEvalTask")], headers, ("host", "x-bce-date")
    )
    authorization = f"{prefix}/host;x-bce-date/{bce_auth.sign(SK, prefix, request)}"
    sent = {"Host": "127.0.0.1:8765", "x-bce-date": date}
    assert check(authorization, headers=sent)
