"""VPC firewall rules from a small declarative list, with the guard rails built in: every rule logs,
and no allow rule opens an administrative port to the whole internet."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from constructs_lib.cdk import Construct, google

# SSH, RDP, databases, Kubernetes API / kubelet / etcd: never reachable from the whole internet.
ADMIN_PORTS = frozenset({22, 3389, 5432, 3306, 6443, 10250, 2379})


@dataclass(frozen=True, kw_only=True)
class FirewallRule:
    name: str
    """Suffix after the network name; also the construct id (renaming moves state)."""
    description: str
    """Why the rule exists; lands in GCP so the console tells the reason too."""
    direction: str = "INGRESS"
    action: str = "allow"
    protocol: str = "tcp"
    ports: tuple[str, ...] = ()
    """Ports or ranges ("443", "8000-8100"). Empty: all ports of the protocol."""
    source_ranges: tuple[str, ...] = ()
    destination_ranges: tuple[str, ...] = ()
    target_tags: tuple[str, ...] = ()
    priority: int = 1000


@dataclass(frozen=True, kw_only=True)
class FirewallProps:
    project_id: str
    network: str
    network_name: str
    rules: tuple[FirewallRule, ...] = field(default=())


def _port_range(port: str) -> range:
    low, _, high = port.partition("-")
    return range(int(low), int(high or low) + 1)


def check_rule(rule: FirewallRule, where: str) -> None:
    if rule.direction not in ("INGRESS", "EGRESS"):
        raise ValueError(f"{where}: rule {rule.name}: direction {rule.direction!r} must be INGRESS or EGRESS")
    if rule.action not in ("allow", "deny"):
        raise ValueError(f"{where}: rule {rule.name}: action {rule.action!r} must be allow or deny")
    if rule.direction == "INGRESS" and not rule.source_ranges:
        raise ValueError(f"{where}: rule {rule.name}: an ingress rule needs source_ranges")
    for cidr in (*rule.source_ranges, *rule.destination_ranges):
        ipaddress.ip_network(cidr)
    internet = rule.direction == "INGRESS" and any(ipaddress.ip_network(c).prefixlen == 0 for c in rule.source_ranges)
    if internet and rule.action == "allow":
        open_ports = [p for p in rule.ports or ("0-65535",) if any(port in _port_range(p) for port in ADMIN_PORTS)]
        if open_ports:
            raise ValueError(
                f"{where}: rule {rule.name}: allows 0.0.0.0/0 to administrative port(s) {open_ports}; use IAP "
                "(35.235.240.0/20) or a specific range"
            )


class Firewall(Construct):
    def __init__(self, scope: Construct, id: str, props: FirewallProps) -> None:
        super().__init__(scope, id)
        names = [rule.name for rule in props.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"Firewall {props.network_name}: rule names must be unique, got {names}")
        self.rules = {}
        for rule in props.rules:
            check_rule(rule, f"Firewall {props.network_name}")
            ports = list(rule.ports) or None
            allow = [google.compute_firewall.ComputeFirewallAllow(protocol=rule.protocol, ports=ports)]
            deny = [google.compute_firewall.ComputeFirewallDeny(protocol=rule.protocol, ports=ports)]
            self.rules[rule.name] = google.compute_firewall.ComputeFirewall(
                self,
                rule.name,
                project=props.project_id,
                network=props.network,
                name=f"{props.network_name}-{rule.name}",
                description=rule.description,
                direction=rule.direction,
                priority=rule.priority,
                allow=allow if rule.action == "allow" else None,
                deny=deny if rule.action == "deny" else None,
                source_ranges=list(rule.source_ranges) or None,
                destination_ranges=list(rule.destination_ranges) or None,
                target_tags=list(rule.target_tags) or None,
                log_config={"metadata": "INCLUDE_ALL_METADATA"},
            )
