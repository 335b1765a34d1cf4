"""Cloud SQL facts shared by the config model, the data stack, the one-time grant step and the tests:
which databases exist, the database user name of a workload, and how many connections the instance
must accept. CDK-free, so the config model can check the arithmetic before the framework loads.

Connection arithmetic (docs/data.md, "Connection arithmetic"):

    pool connections = sum over the components that use a database of
                       pods x pools per pod x max_conns per pool
    max_connections  = ceil(pool connections x (1 + headroom_percent / 100)) + reserved

* `pools per pod` is the number of databases the component uses (its row in stacks/components.py):
  Temporal opens one pool for `temporal` and one for `temporal_visibility` in every server pod.
* `headroom_percent` covers rolling updates (old and new pods hold pools at the same time with a
  maxSurge of 25 %), the schema job and operators' sessions.
* `reserved` are the connections Cloud SQL keeps for itself (`superuser_reserved_connections` and the
  `cloudsqladmin` maintenance sessions), which application roles can never use.

Each PostgreSQL connection is a backend process with its own memory, so the result must also stay within
what Cloud SQL allows by default for the tier's memory (`default_max_connections`); a bigger pool needs a
bigger tier, never an oversubscribed one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

APP_DATABASE = "app"
TEMPORAL_DATABASE = "temporal"
TEMPORAL_VISIBILITY_DATABASE = "temporal_visibility"
DATABASES = (APP_DATABASE, TEMPORAL_DATABASE, TEMPORAL_VISIBILITY_DATABASE)
"""Every database on the instance; components name the ones they use."""

# PostgreSQL's superuser_reserved_connections (3, which Cloud SQL keeps) plus an allowance of 10 for Cloud
# SQL's own cloudsqladmin maintenance and monitoring sessions (an allowance, not a published figure).
RESERVED_CONNECTIONS = 13
# PostgreSQL truncates identifiers (role names included) to NAMEDATALEN - 1 bytes.
MAX_IDENTIFIER_LENGTH = 63
SERVICE_ACCOUNT_SUFFIX = ".gserviceaccount.com"

# Cloud SQL for PostgreSQL's connection limit by instance memory (lower bound in MB → connections), from
# the "Maximum concurrent connections" table of https://cloud.google.com/sql/docs/quotas.
_DEFAULTS_BY_MEMORY_MB = (
    (0, 25),
    (1700, 50),
    (3840, 100),
    (6144, 200),
    (7680, 400),
    (15360, 500),
    (30720, 600),
    (61440, 800),
    (122880, 1000),
)
_TIER = re.compile(r"^db-(custom|perf-optimized-N)-(?P<cpus>[0-9]+)-(?P<memory>[0-9]+)$")


@dataclass(frozen=True, kw_only=True)
class ConnectionPool:
    """The pools one component opens."""

    component: str
    pods: int
    """Most pods running at once in normal operation (the replica count or the autoscaler's maximum)."""
    pools_per_pod: int
    """Connection pools each pod opens: one per database it uses."""
    max_conns: int
    """Upper bound of each pool (Temporal: `maxConns` of the SQL datastore; apps: their pool maximum)."""

    @property
    def connections(self) -> int:
        return self.pods * self.pools_per_pod * self.max_conns


def pool_connections(pools: Iterable[ConnectionPool]) -> int:
    return sum(pool.connections for pool in pools)


def required_max_connections(pools: Iterable[ConnectionPool], *, headroom_percent: int) -> int:
    """`max_connections` for the instance: every pool at its maximum, plus headroom, plus Cloud SQL's reserve."""
    if headroom_percent < 0:
        raise ValueError(f"headroom_percent {headroom_percent} must not be negative")
    # Integer arithmetic: a float product such as 160 * 1.1 would round up past the exact value.
    return -(-pool_connections(pools) * (100 + headroom_percent) // 100) + RESERVED_CONNECTIONS


def tier_memory_mb(tier: str) -> int:
    """Memory of a `db-custom-<cpus>-<MB>` or `db-perf-optimized-N-<cpus>-<MB>` tier."""
    match = _TIER.match(tier)
    if not match:
        raise ValueError(f"tier {tier!r} is not db-custom-<cpus>-<memory MB> or db-perf-optimized-N-<cpus>-<memory MB>")
    return int(match["memory"])


def default_max_connections(memory_mb: int) -> int:
    """What Cloud SQL allows by default for an instance of this memory: the budget the pools must fit."""
    return [connections for floor, connections in _DEFAULTS_BY_MEMORY_MB if memory_mb >= floor][-1]


def iam_user_name(service_account_email: str) -> str:
    """Cloud SQL's database user name for a service account: the email without `.gserviceaccount.com`."""
    if not service_account_email.endswith(SERVICE_ACCOUNT_SUFFIX):
        raise ValueError(f"{service_account_email!r} is not a service account email (…{SERVICE_ACCOUNT_SUFFIX})")
    return service_account_email.removesuffix(SERVICE_ACCOUNT_SUFFIX)
