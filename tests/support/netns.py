"""Test "hosts": Linux network namespaces joined by veth pairs to a bridge in the root namespace,
where the servers listen on the bridge's address (``server_ip``). A host can be cut off from one
server port with an nftables rule inside its namespace that silently drops the packets (a
partition: no RST, no ICMP — the client only sees timeouts).

Needs root (CAP_NET_ADMIN), iproute2 and nftables (scripts/setup.sh installs them). Names carry a
random suffix so concurrent runs do not collide; :meth:`HostNet.destroy` removes everything even
after a partial set-up.
"""

from __future__ import annotations

import ipaddress
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field


class NetnsUnavailable(Exception):
    """This machine does not let us create network namespaces (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class Host:
    netns: str
    ip: str
    veth_root: str


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {out.stderr.strip()}")
    return out


def _free_subnet() -> ipaddress.IPv4Network:
    used = _ip("-4", "-o", "addr", "show").stdout + _ip("-4", "route", "show").stdout
    for _ in range(50):
        third = secrets.randbelow(250) + 2
        if f"10.231.{third}." not in used:
            return ipaddress.IPv4Network(f"10.231.{third}.0/24")
    raise RuntimeError("no free 10.231.x.0/24 subnet for the test hosts")


@dataclass
class HostNet:
    """A bridge with ``hosts`` namespaces attached."""

    hosts: int
    suffix: str = field(default_factory=lambda: secrets.token_hex(2))
    subnet: ipaddress.IPv4Network = field(default_factory=_free_subnet)
    made: list[Host] = field(default_factory=list)
    bridge_up: bool = False

    @property
    def bridge(self) -> str:
        return f"slb{self.suffix}"

    @property
    def server_ip(self) -> str:
        return str(self.subnet.network_address + 1)

    def create(self) -> HostNet:
        if shutil.which("ip") is None:
            raise RuntimeError("iproute2 (ip) not found: run scripts/setup.sh")
        probe = f"sl{self.suffix}probe"
        out = _ip("netns", "add", probe, check=False)
        if out.returncode != 0:
            raise NetnsUnavailable(f"'ip netns add' failed: {out.stderr.strip()}")
        _ip("netns", "del", probe, check=False)
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            self.bridge_up = True
            _ip("addr", "add", f"{self.server_ip}/{self.subnet.prefixlen}", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for i in range(1, self.hosts + 1):
                self._add_host(i)
        except Exception:
            self.destroy()
            raise
        return self

    def _add_host(self, i: int) -> None:
        ns, vr, vn = f"sl{self.suffix}h{i}", f"sl{self.suffix}h{i}r", f"sl{self.suffix}h{i}n"
        _ip("netns", "add", ns)
        host = Host(ns, str(self.subnet.network_address + 10 + i), vr)
        self.made.append(host)
        _ip("link", "add", vr, "type", "veth", "peer", "name", vn)
        _ip("link", "set", vn, "netns", ns)
        _ip("link", "set", vr, "master", self.bridge)
        _ip("link", "set", vr, "up")
        _ip("-n", ns, "addr", "add", f"{host.ip}/{self.subnet.prefixlen}", "dev", vn)
        _ip("-n", ns, "link", "set", vn, "up")
        _ip("-n", ns, "link", "set", "lo", "up")

    def host(self, i: int) -> Host:
        return self.made[i - 1]

    def cut(self, host: Host, port: int) -> None:
        """Silently drop everything ``host`` sends to ``server_ip:port`` (a partition)."""
        nft = shutil.which("nft")
        if nft is None:
            raise RuntimeError("nft not found: run scripts/setup.sh (installs nftables)")
        rules = (f"table inet seamline_cut {{\n chain out {{\n  type filter hook output priority 0;\n"
                 f"  ip daddr {self.server_ip} tcp dport {port} drop\n }}\n}}\n")
        out = subprocess.run(["ip", "netns", "exec", host.netns, nft, "-f", "-"], input=rules, capture_output=True,
                             text=True, timeout=30, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"nft in {host.netns}: {out.stderr.strip()}")

    def heal(self, host: Host) -> None:
        subprocess.run(["ip", "netns", "exec", host.netns, "nft", "delete", "table", "inet", "seamline_cut"],
                       capture_output=True, text=True, timeout=30, check=True)

    def destroy(self) -> None:
        for host in self.made:
            _ip("netns", "del", host.netns, check=False)  # deletes its veth end, and so the pair
            _ip("link", "del", host.veth_root, check=False)
        self.made.clear()
        if self.bridge_up:
            _ip("link", "del", self.bridge, check=False)
            self.bridge_up = False
