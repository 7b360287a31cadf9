"""The client address that limits are counted against, in a shape no client can stretch.

uvicorn sets ``request.client.host`` from the TCP peer, or from ``X-Forwarded-For`` only when the
peer is one of ``TASKS_API_TRUSTED_PROXIES``. Whatever it holds, the key below is at most 64
characters: an IPv4 address, an IPv6 address cut to its /64 (one subscriber usually owns a whole
/64, so counting per address would give an attacker 2^64 fresh addresses), or a digest.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from tasks_api.settings import Settings

IPV6_SUBSCRIBER_PREFIX = 64


def address_key(host: str | None) -> str:
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "other:" + hashlib.sha256(host.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network(f"{address}/{IPV6_SUBSCRIBER_PREFIX}", strict=False)
        return str(network)
    return str(address)


def forwarding_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for forwarding headers. uvicorn believes ``X-Forwarded-For`` from
    127.0.0.1 unless told otherwise, so anyone on the machine (or behind a local tunnel) could pick
    their address; here only ``TASKS_API_TRUSTED_PROXIES`` are believed, and none by default."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}
