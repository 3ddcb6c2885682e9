"""Mapping of InfluxDB answers onto the typed write errors the policy acts on."""

from __future__ import annotations

import json

import pytest

from seamline.storage.write_errors import (
    AuthWriteError,
    BatchTooLargeError,
    PartialWriteError,
    PermanentWriteError,
    RetryableWriteError,
    ServerLimitError,
    error_for_status,
    parse_retry_after_s,
)

LINES = ["a f=1 1", "b,t=\\ f=1 2", "c f=1 3", "d f= 4", "e s=\"x': y\" 5", "b,t=\\ f=1 2"]


def body(msg: str) -> bytes:
    return json.dumps({"error": msg}).encode()


def test_partial_parse_errors_name_their_lines_even_duplicates() -> None:
    msg = (
        "partial write: unable to parse 'b,t=\\ f=1 2': invalid tag format\n"
        "unable to parse 'd f= 4': missing field value dropped=0"
    )
    err = error_for_status(400, body(msg), {}, LINES)
    assert isinstance(err, PartialWriteError)
    assert err.bad_lines == [
        (1, "unable to parse: invalid tag format"),
        (3, "unable to parse: missing field value"),
        (5, "unable to parse: invalid tag format"),
    ]
    assert err.unmapped == []


def test_line_containing_the_separator_is_still_found() -> None:
    msg = "partial write: unable to parse 'e s=\"x': y\" 5': bad thing dropped=0"
    err = error_for_status(400, body(msg), {}, LINES)
    assert isinstance(err, PartialWriteError)
    assert err.bad_lines == [(4, "unable to parse: bad thing")]


def test_type_conflict_names_no_line() -> None:
    msg = (
        'partial write: field type conflict: input field "f" on measurement "a" is type integer, '
        "already exists as type float dropped=1"
    )
    err = error_for_status(400, body(msg), {}, LINES)
    assert isinstance(err, PartialWriteError)
    assert err.bad_lines == []
    assert err.unmapped == [
        'field type conflict: input field "f" on measurement "a" is type integer, already exists as type float'
    ]


def test_unknown_line_in_message_is_unmapped() -> None:
    err = error_for_status(400, body("unable to parse 'zzz': nope"), {}, LINES)
    assert isinstance(err, PartialWriteError)
    assert err.bad_lines == [] and err.unmapped == ["unable to parse 'zzz': nope"]


def test_v2_message_key_and_a_400_about_content() -> None:
    body = json.dumps({"code": "invalid", "message": "failed to parse line protocol: errors encountered on line(s)"})
    err = error_for_status(400, body, {}, LINES)
    assert isinstance(err, PartialWriteError) and err.unmapped == [
        "failed to parse line protocol: errors encountered on line(s)"]


@pytest.mark.parametrize("body", [b"", b"<html><body>400 Bad Request</body></html>", b'{"error": "boom"}'])
def test_a_400_naming_no_lines_content_is_a_server_fault_retried_whole(body: bytes) -> None:
    err = error_for_status(400, body, {}, LINES)
    assert isinstance(err, RetryableWriteError) and err.status == 400


@pytest.mark.parametrize("message", [
    "partial write: max-values-per-tag limit exceeded (100000/100000): measurement=\"m\" tag=\"asset\" dropped=3",
    "max series per database exceeded: m,asset=a1 dropped=1",
])
def test_the_databases_own_limits_keep_the_lines(message: str) -> None:
    err = error_for_status(400, json.dumps({"error": message}), {}, LINES)
    assert isinstance(err, ServerLimitError)


def test_a_named_bad_line_is_content_even_beside_a_limit() -> None:
    msg = f"partial write: unable to parse '{LINES[1]}': invalid boolean dropped=1"
    err = error_for_status(400, json.dumps({"error": msg}), {}, LINES)
    same = [i for i, ln in enumerate(LINES) if ln == LINES[1]]
    assert isinstance(err, PartialWriteError) and [i for i, _ in err.bad_lines] == same


@pytest.mark.parametrize(
    ("status", "headers", "cls", "retry_after"),
    [
        (429, {"Retry-After": "7"}, RetryableWriteError, 7.0),
        (503, {"retry-after": "1.5"}, RetryableWriteError, 1.5),
        (503, {}, RetryableWriteError, None),
        (500, {}, RetryableWriteError, None),
        (502, {"Retry-After": "junk"}, RetryableWriteError, None),
        (401, {}, AuthWriteError, None),
        (403, {}, AuthWriteError, None),
        (413, {}, BatchTooLargeError, None),
        (404, {}, PermanentWriteError, None),
        (422, {}, PermanentWriteError, None),
    ],
)
def test_status_mapping(status: int, headers: dict[str, str], cls: type, retry_after: float | None) -> None:
    err = error_for_status(status, body("x"), headers, LINES)
    assert type(err) is cls and err.status == status
    if isinstance(err, RetryableWriteError):
        assert err.retry_after_s == retry_after


def test_unknown_retention_policy_500_is_permanent() -> None:
    err = error_for_status(500, body("retention policy not found: nope"), {}, LINES)
    assert type(err) is PermanentWriteError


def test_retry_after_http_date() -> None:
    assert parse_retry_after_s("Wed, 21 Oct 2015 07:28:30 GMT", now_s=1445412500.0) == 10.0
    assert parse_retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now_s=1445412500.0) == 0.0
    assert parse_retry_after_s(None) is None
    assert parse_retry_after_s("-3") == 0.0
