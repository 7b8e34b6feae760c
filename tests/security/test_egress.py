"""SSRF: this.fetch never reaches a private, loopback or metadata address,
whatever form the address takes and however many redirects lead there."""

from __future__ import annotations

import pytest

from tests.security.conftest import refused

TARGETS = [
    ("loopback", "http://127.0.0.1/"),
    ("localhost", "http://localhost:8080/admin"),
    ("cloud-metadata", "http://169.254.169.254/latest/meta-data/"),
    ("private-10", "http://10.0.0.1/"),
    ("private-192", "http://192.168.1.1/"),
    ("ipv6-loopback", "http://[::1]/"),
    ("ipv4-mapped-ipv6", "http://[::ffff:127.0.0.1]/"),
    ("decimal-ip", "http://2130706433/"),
    ("hex-ip", "http://0x7f000001/"),
    ("zero-address", "http://0.0.0.0/"),
    ("shared-address-space", "http://100.64.0.1/"),
]


@pytest.mark.parametrize("url", [t[1] for t in TARGETS], ids=[t[0] for t in TARGETS])
def test_private_targets_are_refused(attempt, url):
    result = attempt(f"return this.fetch({url!r}).status")
    refused(result, "PermissionDenied", "", 1)
    assert result.usage.http_bytes == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com/", "ftp://example.com/x"])
def test_non_http_schemes_are_refused(attempt, url):
    refused(attempt(f"return this.fetch({url!r}).text()"), "PermissionDenied", url.split(":")[0], 1)


def test_redirect_to_a_private_address_is_refused_at_the_hop(attempt, peer):
    result = attempt(f"return this.fetch('http://{peer}/to/127.0.0.2:{peer.split(':')[1]}/json').status")
    refused(result, "PermissionDenied", "127.0.0.2", 1)


def test_redirect_to_metadata_is_refused(attempt, peer):
    result = attempt(f"return this.fetch('http://{peer}/to/169.254.169.254/latest').status")
    refused(result, "PermissionDenied", "169.254.169.254", 1)


def test_allowlisted_peer_is_reached(attempt, peer):
    result = attempt(f"r = this.fetch('http://{peer}/json')\nreturn [r.status, r.ok, r.json().hello]")
    assert result.ok, result.error
    assert result.value == [200, True, "world"]
    assert result.usage.http_requests == 1


def test_http_request_budget(attempt, peer):
    source = f"for i in range(10):\n    this.fetch('http://{peer}/json')"
    result = attempt(source)
    refused(result, "LimitExceeded", "httpRequests budget exceeded", 2)
    assert result.usage.http_requests == 4


def test_http_bytes_budget(attempt, peer):
    refused(attempt(f"return len(this.fetch('http://{peer}/big').text())"), "LimitExceeded", "httpBytes budget", 1)
