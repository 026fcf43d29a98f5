"""The one way a webhook leaves the building: a POST that cannot be turned on us.

- Only http and https URLs, without credentials in them.
- The host is resolved once; if any address it resolves to is loopback, private,
  link-local, multicast, reserved, unspecified or otherwise not public (IPv4 and
  IPv6, IPv4-mapped and 6to4/Teredo IPv6 included), nothing is sent, unless
  WEBHOOKS_ALLOW_PRIVATE says so. The connection goes to the address that was
  checked, so a second DNS answer (DNS rebinding) never gets a say; TLS still checks
  the certificate against the host name.
- Redirects are not followed: a 3xx is a failed attempt with its code recorded.
- The whole exchange has one deadline (`timeout` seconds, a receiver dripping bytes
  included), and at most `max_bytes` of the answer are read.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 64 * 1024
SCHEMES = {"http": 80, "https": 443}


class UnsafeUrl(ValueError):
    """A URL we will not POST to; the message is written for the admin."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    # (family, socket address) of each address the host resolved to, all checked.
    addresses: tuple[tuple[int, tuple], ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    """One attempt: the status code (None when there was no answer), how long it took,
    and what went wrong (None: delivered, a 2xx)."""

    code: int | None
    ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")


def refusal(address: str) -> str | None:
    """Why `address` is not a public one we may send to; None when it is."""
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        for inner in embedded:
            if inner is not None and (why := refusal(str(inner))):
                return f"{address} carries {why}"
    kinds = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    )
    for attribute, kind in kinds:
        if getattr(ip, attribute):
            return f"{address} is {kind}"
    if not ip.is_global:
        return f"{address} is not a public address"
    return None


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL without credentials."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"That is not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeUrl("Use an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(
            "Leave the user name and password out of the URL: the signature proves it is us."
        )
    if not parts.hostname:
        raise UnsafeUrl("The URL needs a host name, like https://example.com/hooks.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, parts.hostname, port or SCHEMES[scheme], path


def resolve(url: str, *, allow_private: bool) -> Target:
    """Check `url` and look its host up, once; UnsafeUrl says why it is refused."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"We could not find the host {host}.") from exc
    addresses = tuple(dict.fromkeys((family, sockaddr) for family, _, _, _, sockaddr in infos))
    if not addresses:
        raise UnsafeUrl(f"We could not find the host {host}.")
    if not allow_private:
        for _, sockaddr in addresses:
            if why := refusal(str(sockaddr[0])):
                raise UnsafeUrl(f"{host} resolves to {why}: webhooks only go to public addresses.")
    return Target(scheme, host, port, path, addresses)


def _connect(target: Target, deadline: float) -> socket.socket:
    """A connection to one of the checked addresses (never a fresh lookup)."""
    error: OSError | None = None
    for family, sockaddr in target.addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(left)
            sock.connect(sockaddr)  # the address itself: no lookup in between
        except OSError as exc:
            sock.close()
            error = exc
            continue
        if target.scheme == "https":
            context = ssl.create_default_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=target.host)
            except BaseException:
                sock.close()
                raise
        return sock
    assert error is not None
    raise error


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow_private: bool,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> Answer:
    """POST `body` to `url`; never raises for the receiver's sake, the Answer says."""
    start = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - start) * 1000)

    try:
        target = resolve(url, allow_private=allow_private)
    except UnsafeUrl as exc:
        return Answer(None, elapsed(), f"Refused: {exc}")
    timed_out = threading.Event()
    sock: socket.socket | None = None

    def stop() -> None:  # the deadline: wakes a read that is still waiting
        timed_out.set()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, stop)
    watchdog.daemon = True
    watchdog.start()
    connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    response: http.client.HTTPResponse | None = None
    try:
        sock = _connect(target, start + timeout)
        if timed_out.is_set():
            stop()
        connection.sock = sock
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={"Host": target.host_header, "Content-Length": str(len(body)), **headers},
        )
        response = connection.getresponse()
        text = response.read(max_bytes)
        code = response.status
    except (OSError, http.client.HTTPException) as exc:
        if timed_out.is_set() or isinstance(exc, TimeoutError):
            return Answer(None, elapsed(), f"No answer within {timeout:g} s (timed out).")
        return Answer(None, elapsed(), f"{type(exc).__name__}: {exc}"[:500])
    finally:
        watchdog.cancel()
        if response is not None:  # it holds the socket when the receiver said "close"
            response.close()
        connection.close()
    if 200 <= code < 300:
        return Answer(code, elapsed(), None)
    snippet = text[:300].decode("utf-8", "replace").strip()
    if 300 <= code < 400:
        where = response.getheader("Location", "")
        error = f"HTTP {code}: a redirect to {where or 'elsewhere'}, not followed."
    else:
        error = f"HTTP {code}" + (f": {snippet}" if snippet else ".")
    return Answer(code, elapsed(), error[:2000])
