"""Ports for the servers a test starts: never one the kernel may give an outgoing connection
meanwhile (CI once failed to bind such a port: "address already in use"), never the same twice."""

from __future__ import annotations

import socket
from pathlib import Path

from omni.devstack.processes import free_port


def test_ports_are_free_distinct_and_below_the_range_of_outgoing_connections() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(port < low for port in ports)
    for port in ports[:5]:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()
