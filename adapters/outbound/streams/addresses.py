"""Which addresses a stream may connect to: public ones, or those the operator listed.

A host name is resolved once per connection and every address it gives is judged; the
connection is then made to one of those very addresses, never to the name again (a name
that answers public for the check and private for the connect is DNS rebinding).
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]

# RFC 6052's well-known NAT64 prefix carries the IPv4 address in its last 32 bits; RFC 8215's
# local-use prefix is for a site's own translators, never public.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class Unreachable(Exception):
    """A destination refused before any byte is sent: `code` is DNS_FAILED or
    ADDRESS_NOT_ALLOWED."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def system_resolver(host: str, port: int) -> Sequence[IPAddress]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form stands for (mapped, 6to4, NAT64, IPv4-compatible)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class AddressGuard:
    def __init__(self, allowed_private: frozenset[IPAddress], resolver: Resolver) -> None:
        self._allowed = allowed_private
        self._resolver = resolver

    def allowed(self, address: IPAddress, *, listed_only: bool = False) -> bool:
        """Public (or listed) unless `listed_only`, when only a listed address will do:
        plain http:// goes only to the operator's own collectors."""
        if address in self._allowed:
            return True
        if isinstance(address, ipaddress.IPv6Address):
            inner = embedded_ipv4(address)
            if inner is not None:
                return self.allowed(inner, listed_only=listed_only)
            if address in _NAT64_LOCAL:
                return False
        if listed_only:
            return False
        return address.is_global and not address.is_multicast

    async def addresses(
        self, host: str, port: int, *, listed_only: bool = False
    ) -> list[IPAddress]:
        """What `host` resolves to, each address allowed; `Unreachable` if it does not
        resolve or if any address is not allowed (one bad answer taints the name)."""
        try:
            found: Sequence[IPAddress] = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                found = await self._resolver(host, port)
            except (OSError, UnicodeError, ValueError):
                raise Unreachable("DNS_FAILED") from None
        unique = list(dict.fromkeys(found))
        if not unique:
            raise Unreachable("DNS_FAILED")
        if not all(self.allowed(address, listed_only=listed_only) for address in unique):
            raise Unreachable("ADDRESS_NOT_ALLOWED")
        return unique
