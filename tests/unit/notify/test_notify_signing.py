"""Signatures against values computed by another implementation (``openssl dgst -hmac``)."""

from __future__ import annotations

from seamline.notify.channels.signing import dingtalk_sign, feishu_sign, webhook_signature


def test_dingtalk_sign_is_hmac_of_timestamp_newline_secret_keyed_by_secret() -> None:
    # printf '1700000000000\nSECabc' | openssl dgst -sha256 -hmac SECabc -binary | base64
    assert dingtalk_sign("SECabc", 1_700_000_000_000) == "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="


def test_feishu_sign_is_hmac_of_nothing_keyed_by_timestamp_newline_secret() -> None:
    # printf '' | openssl dgst -sha256 -mac HMAC -macopt "key:1700000000<LF>feishusecret" -binary | base64
    assert feishu_sign("feishusecret", 1_700_000_000) == "5Wc8F8b2vZlNjoVFpK6BAaovMobglP4Rm1FzmEq/rCU="


def test_webhook_signature_covers_timestamp_and_raw_body() -> None:
    # printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec
    expected = "sha256=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032"
    assert webhook_signature("whsec", 1_700_000_000, b'{"a":1}') == expected
    assert webhook_signature("whsec", 1_700_000_001, b'{"a":1}') != expected
    assert webhook_signature("whsec", 1_700_000_000, b'{"a":2}') != expected
