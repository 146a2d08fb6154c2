"""Server-side request forgery: endpoint URLs may only reach public addresses.

A URL is checked when an endpoint is created or changed, and again before every delivery: its
host is resolved, and every address it resolves to must be public (not loopback, private,
link-local, the cloud metadata address, multicast, reserved or unspecified, also when wrapped
in IPv6: mapped, 6to4, Teredo), unless a network of the settings' allowlist holds it. The
delivery then connects to the address that was checked (the URL's host goes in `Host` and in
TLS's SNI and certificate check), so a DNS answer that changes between check and connect
(rebinding) cannot move it elsewhere, and redirects are never followed.

Written here rather than taken from a library: the check is a few lines over `ipaddress`, and
what matters is that the address checked is the one connected to, which the sender does.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL_LENGTH = 2048
# Cloud metadata services (AWS, GCP, Azure, Alibaba; AWS's IPv6 one): named although the
# link-local and private checks already refuse them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


class UrlError(ValueError):
    """The URL is not one we deliver to; `reason` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Target:
    """Where a delivery goes: the URL as given, and the checked address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str

    def connect_url(self) -> str:
        """The URL with its host replaced by the checked address."""
        parts = urlsplit(self.url)
        host = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{host}:{self.port}"
        return SplitResult(parts.scheme, netloc, parts.path or "/", parts.query, "").geturl()

    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def parse_url(url: str) -> SplitResult:
    """The URL's parts; UrlError when it is not an absolute http(s) URL we may deliver to."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlError("url_too_long", f"the URL is over {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(char.isspace() or ord(char) < 32 for char in url):
        raise UrlError("invalid_url", "the URL must be ASCII without spaces (IDNA-encode hosts)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlError("invalid_url", f"the URL cannot be parsed: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UrlError("unsupported_scheme", "the URL must start with https:// or http://")
    if not parts.hostname:
        raise UrlError("invalid_url", "the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlError("credentials_in_url", "the URL must not carry a user name or password")
    if parts.fragment:
        raise UrlError("invalid_url", "the URL must not have a #fragment")
    if port == 0:
        raise UrlError("invalid_url", "port 0 is not a port")
    return parts


def embedded_addresses(address: IpAddress) -> list[IpAddress]:
    """The address and any IPv4 address an IPv6 one carries (mapped, 6to4, Teredo)."""
    found: list[IpAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
    return found


def refusal(address: IpAddress, allowlist: Sequence[IpNetwork]) -> str | None:
    """Why `address` may not be reached (a reason code), or None when it may."""
    if any(address in network for network in allowlist if network.version == address.version):
        return None
    # The embedded IPv4 address first: it names the host really reached.
    for candidate in reversed(embedded_addresses(address)):
        if candidate in METADATA_ADDRESSES:
            return "metadata_address"
        if candidate.is_loopback:
            return "loopback_address"
        if candidate.is_link_local:
            return "link_local_address"
        if candidate.is_multicast or candidate.is_unspecified or candidate.is_reserved:
            return "reserved_address"
        if candidate.is_private:
            return "private_address"
        if not candidate.is_global:
            return "non_public_address"
    return None


def parse_allowlist(networks: Sequence[str]) -> list[IpNetwork]:
    return [ipaddress.ip_network(network, strict=False) for network in networks]


class Resolver:
    """Resolves and checks hosts, remembering checked answers for `cache_seconds` (bounded)."""

    def __init__(
        self,
        allowlist: Sequence[str],
        *,
        cache_seconds: float = 10.0,
        max_entries: int = 10000,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.allowlist = parse_allowlist(allowlist)
        self.timeout_seconds = timeout_seconds
        self.cache_seconds = cache_seconds
        self.max_entries = max_entries
        # (host, port) -> (until, checked address, or the refusal to repeat)
        self._cache: dict[tuple[str, int], tuple[float, str | UrlError]] = {}

    async def target(self, url: str) -> Target:
        """The checked target of `url`; UrlError when it may not be reached."""
        parts = parse_url(url)
        host = parts.hostname
        assert host is not None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (host, port)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            if isinstance(cached[1], UrlError):
                raise cached[1]
            return Target(url, parts.scheme, host, port, cached[1])
        try:
            address = await self._resolve_checked(host, port)
        except UrlError as exc:
            self._remember(key, now, exc)  # a refusal is remembered too: no lookup per attempt
            raise
        self._remember(key, now, address)
        return Target(url, parts.scheme, host, port, address)

    def _remember(self, key: tuple[str, int], now: float, answer: str | UrlError) -> None:
        if self.cache_seconds > 0:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[key] = (now + self.cache_seconds, answer)

    async def _resolve_checked(self, host: str, port: int) -> str:
        try:
            literal: IpAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                async with asyncio.timeout(self.timeout_seconds):
                    infos = await asyncio.get_running_loop().getaddrinfo(
                        host, port, type=socket.SOCK_STREAM
                    )
            except (OSError, UnicodeError, TimeoutError) as exc:
                raise UrlError("unresolvable_host", f"the host {host} does not resolve") from exc
            addresses = []
            for info in infos:
                text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone
                addresses.append(ipaddress.ip_address(text))
            if not addresses:
                raise UrlError("unresolvable_host", f"the host {host} does not resolve")
        # Every address must pass: a host resolving to one public and one private address could
        # otherwise be steered to the private one.
        for address in addresses:
            reason = refusal(address, self.allowlist)
            if reason is not None:
                raise UrlError(
                    reason,
                    f"the host {host} resolves to {address}, which deliveries may not reach",
                )
        return str(addresses[0])
