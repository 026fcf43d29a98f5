"""Webhook signatures and the address rule, without a network: what a receiver checks,
and which URLs and addresses we refuse to POST to (SSRF)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from support.webhooks import http, signing

SECRET = "whsec_test"
BODY = b'{"id":"event-1","event":"ticket.created"}'


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    header = signing.sign(SECRET, BODY, 1_900_000_000)
    expected = hmac.new(SECRET.encode(), b"1900000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1900000000,v1={expected}"
    assert signing.verify(SECRET, BODY, header, now=1_900_000_010)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("whsec_other", BODY, 1_900_000_000),  # another secret
        (SECRET, BODY + b" ", 1_900_000_000),  # a changed body
        (SECRET, BODY, 1_900_000_000 + 301),  # too old: a replay
        (SECRET, BODY, 1_900_000_000 - 301),  # from the future
    ],
    ids=["wrong-secret", "changed-body", "too-old", "too-new"],
)
def test_signature_refused(secret: str, body: bytes, now: int) -> None:
    header = signing.sign(SECRET, BODY, 1_900_000_000)
    assert not signing.verify(secret, body, header, now=now)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=x,v1=abc", "t=1900000000"])
def test_malformed_signature_headers_are_refused(header: str) -> None:
    assert not signing.verify(SECRET, BODY, header, now=1_900_000_000)


def test_secrets_are_fresh_and_long() -> None:
    one, two = signing.new_secret(), signing.new_secret()
    assert one != two and one.startswith("whsec_") and len(one) >= 40


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("0.0.0.0", "unspecified"),  # noqa: S104 - refused, not bound
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public"),  # carrier-grade NAT
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    why = http.refusal(address)
    assert why is not None and kind in why


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert http.refusal(address) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hooks", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("https://user:pass@example.com/hooks", "password"),
        ("https://token@example.com/hooks", "password"),
        ("https:///hooks", "host name"),
        ("http://example.com:99999/", "valid URL"),
    ],
)
def test_urls_we_never_post_to(url: str, message: str) -> None:
    with pytest.raises(http.UnsafeUrl, match=message):
        http.resolve(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hooks",
        "http://[::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "https://10.0.0.5/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://localhost/hooks",
    ],
)
def test_private_hosts_refused_unless_allowed(url: str) -> None:
    with pytest.raises(http.UnsafeUrl, match="public addresses"):
        http.resolve(url, allow_private=False)
    target = http.resolve(url, allow_private=True)
    assert target.addresses


def test_post_refuses_without_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_socket(*args, **kwargs):
        raise AssertionError("no connection may be opened")

    monkeypatch.setattr(http.socket, "socket", no_socket)
    answer = http.post("http://127.0.0.1:9/", b"{}", {}, timeout=1, allow_private=False)
    assert not answer.ok and answer.code is None
    assert answer.error.startswith("Refused:") and "loopback" in answer.error


def test_host_header_keeps_a_non_default_port() -> None:
    target = http.resolve("http://127.0.0.1:8080/a?b=1", allow_private=True)
    assert (target.host_header, target.path) == ("127.0.0.1:8080", "/a?b=1")
    assert http.resolve("https://[::1]/", allow_private=True).host_header == "[::1]"
