"""Download a client-supplied image URL without letting the client reach internal services (SSRF).

Every URL, including each redirect target, is parsed, its host resolved once, and
every resolved address checked before anything is sent; the connection then goes
to that checked address, never to a second lookup of the name, so a DNS answer that
changes between the check and the connect (rebinding) cannot redirect it.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from fashionclip.errors import UrlFetchError, UrlRefused

__all__ = ["UrlFetchError", "UrlPolicy", "UrlRefused", "address_is_public", "fetch_url", "system_resolver"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CHUNK = 64 * 1024
# identity: http.client does not decode gzip, and a compressed body would dodge the size cap
_HEADERS = {"Accept": "image/*", "Accept-Encoding": "identity", "Connection": "close", "User-Agent": "fashionclip"}


def address_is_public(ip: IPAddress) -> bool:
    """True when ``ip`` is a globally routable unicast address, false for every internal or special range."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 wrapped in IPv6 (mapped, 6to4, NAT64) reaches the IPv4 host: judge that one
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_is_public(embedded)
        if ip.is_site_local:  # deprecated fec0::/10, which is_global still counts as global
            return False
    # is_global alone lets multicast (224/4, ff00::/8) and some reserved ranges through
    special = ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local or ip.is_unspecified
    return ip.is_global and not ip.is_private and not special


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), without duplicates, in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class UrlPolicy:
    """Limits of one fetch. ``timeout`` bounds each socket operation and, between chunks, the whole fetch."""

    max_bytes: int = 20_000_000
    timeout: float = 10.0
    max_redirects: int = 3
    # which resolved addresses may be connected to; tests inject a looser predicate
    address_allowed: Callable[[IPAddress], bool] = address_is_public
    resolver: Callable[[str, int], list[str]] = system_resolver


class _Target(NamedTuple):
    scheme: str
    host: str
    port: int
    path: str
    ips: list[str]


def _short(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "..."


def _resolve(url: str, host: str, port: int, policy: UrlPolicy) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]  # a literal address is checked like a resolved one
    except ValueError:
        pass
    try:
        ips = list(policy.resolver(host, port))
    except (OSError, UnicodeError) as err:
        raise UrlFetchError(f"URL {_short(url)!r}: cannot resolve host {host!r} ({err})") from None
    if not ips:
        raise UrlFetchError(f"URL {_short(url)!r}: host {host!r} resolves to no address")
    return ips


def _validate(url: str, policy: UrlPolicy) -> _Target:
    """Parse ``url`` and resolve its host, refusing anything the policy does not allow."""

    def refuse(why: str) -> UrlRefused:
        return UrlRefused(f"URL {_short(url)!r} refused: {why}")

    if len(url) > MAX_URL_LENGTH:
        raise refuse(f"longer than {MAX_URL_LENGTH} characters")
    # whitespace and control characters could split the request line or headers
    if any(c <= " " or c == "\x7f" for c in url):
        raise refuse("contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError as err:  # bad IPv6 brackets, non-numeric or out-of-range port
        raise refuse(f"malformed ({err})") from None
    if scheme not in _DEFAULT_PORTS:
        raise refuse(f"scheme {scheme or '(none)'!r} is not http or https")
    if "@" in parts.netloc:
        raise refuse("credentials (user@) are not allowed in the URL")
    if not host:
        raise refuse("no host")
    port = port or _DEFAULT_PORTS[scheme]
    ips = _resolve(url, host, port, policy)
    for ip in ips:
        try:
            allowed = policy.address_allowed(ipaddress.ip_address(ip))
        except ValueError:
            allowed = False
        # one bad address is enough: the connection could go to any of them
        if not allowed:
            raise refuse(f"host {host!r} resolves to non-public address {ip}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, host, port, path, ips)


def _connect(ips: list[str], port: int, timeout: float) -> socket.socket:
    """A socket to the first of the already-checked addresses that accepts."""
    last = OSError("no address to connect to")
    for ip in ips:
        try:
            return socket.create_connection((ip, port), timeout)
        except OSError as err:
            last = err
    raise last


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to checked addresses; ``host`` still names the Host header."""

    def __init__(self, host: str, port: int, ips: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ips = ips

    def connect(self) -> None:
        self.sock = _connect(self._ips, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to checked addresses; the certificate is verified against ``host``, not the address."""

    def __init__(self, host: str, port: int, ips: list[str], timeout: float) -> None:
        self._ssl_context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._ssl_context)
        self._ips = ips

    def connect(self) -> None:
        sock = _connect(self._ips, self.port, self.timeout)
        try:
            self.sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _get(url: str, target: _Target, policy: UrlPolicy, deadline: float) -> tuple[str | None, bytes]:
    """One GET: (redirect location, b"") or (None, body)."""
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    # http.client writes the Host header from host and port (port only when non-default)
    conn = cls(target.host, target.port, target.ips, policy.timeout)

    def fail(why: str) -> UrlFetchError:
        return UrlFetchError(f"URL {_short(url)!r}: {why}")

    try:
        conn.request("GET", target.path, headers=_HEADERS)
        resp = conn.getresponse()
        if resp.status in _REDIRECTS:
            location = resp.getheader("Location")
            if not location:
                raise fail(f"HTTP {resp.status} redirect without a Location")
            return location, b""
        if not 200 <= resp.status < 300:
            raise fail(f"HTTP {resp.status} {resp.reason}".rstrip())
        if resp.length is not None and resp.length > policy.max_bytes:
            raise fail(f"too large: Content-Length {resp.length} > {policy.max_bytes} bytes")
        body = bytearray()
        # Content-Length may be absent (chunked, read-to-close): count what actually arrives
        while chunk := resp.read1(_CHUNK):  # read1: one recv at a time, so a trickle meets the deadline
            body += chunk
            if len(body) > policy.max_bytes:
                raise fail(f"too large: more than {policy.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise fail(f"timed out after {policy.timeout} s")
        return None, bytes(body)
    except TimeoutError:
        raise fail(f"timed out after {policy.timeout} s") from None
    except ssl.SSLError as err:
        raise fail(f"TLS error ({err})") from None
    except (OSError, http.client.HTTPException, UnicodeError) as err:
        raise fail(f"{type(err).__name__} ({err})") from None
    finally:
        conn.close()


def fetch_url(url: str, policy: UrlPolicy = UrlPolicy()) -> bytes:
    """The body of ``url``, following up to ``policy.max_redirects`` redirects, each re-checked.

    Raises UrlRefused when the URL or a redirect target is not allowed, UrlFetchError when the download fails.
    """
    deadline = time.monotonic() + policy.timeout
    current = url
    for _ in range(policy.max_redirects + 1):
        if time.monotonic() > deadline:
            raise UrlFetchError(f"URL {_short(url)!r}: timed out after {policy.timeout} s")
        location, body = _get(current, _validate(current, policy), policy, deadline)
        if location is None:
            return body
        current = urljoin(current, location)
    raise UrlFetchError(f"URL {_short(url)!r}: too many redirects (more than {policy.max_redirects})")
