"""The connection arithmetic and user naming of stacks/databases.py, worked by hand (docs/data.md)."""
from __future__ import annotations

import pytest

from stacks.databases import (
    RESERVED_CONNECTIONS,
    ConnectionPool,
    default_max_connections,
    iam_user_name,
    required_max_connections,
    tier_memory_mb,
)


def pool(component, pods, pools_per_pod, max_conns):
    return ConnectionPool(component=component, pods=pods, pools_per_pod=pools_per_pod, max_conns=max_conns)


def test_max_connections_is_every_pool_at_its_maximum_plus_headroom_plus_the_reserve():
    pools = (
        pool("temporal-server", 11, 2, 10),  # 220
        pool("api-server", 10, 1, 10),  # 100
        pool("backend", 6, 1, 10),  # 60
    )
    # 380 x 1.25 = 475, + 13 reserved
    assert RESERVED_CONNECTIONS == 13
    assert required_max_connections(pools, headroom_percent=25) == 488


def test_headroom_rounds_up_to_whole_connections():
    assert required_max_connections((pool("a", 1, 1, 7),), headroom_percent=10) == 8 + RESERVED_CONNECTIONS
    assert required_max_connections((pool("a", 16, 1, 10),), headroom_percent=10) == 176 + RESERVED_CONNECTIONS
    assert required_max_connections((), headroom_percent=25) == RESERVED_CONNECTIONS


def test_negative_headroom_is_refused():
    with pytest.raises(ValueError, match="must not be negative"):
        required_max_connections((pool("a", 1, 1, 1),), headroom_percent=-1)


@pytest.mark.parametrize(
    ("tier", "memory", "budget"),
    [
        ("db-custom-1-3840", 3840, 100),
        ("db-custom-2-7680", 7680, 400),
        ("db-custom-4-15360", 15360, 500),
        ("db-custom-2-6144", 6144, 200),
        ("db-perf-optimized-N-8-65536", 65536, 800),
    ],
)
def test_the_tiers_memory_bounds_the_connections(tier, memory, budget):
    assert tier_memory_mb(tier) == memory
    assert default_max_connections(memory) == budget


def test_an_unknown_tier_shape_is_refused():
    with pytest.raises(ValueError, match="db-custom-<cpus>-<memory MB>"):
        tier_memory_mb("db-f1-micro")


def test_iam_user_name_is_the_email_without_the_service_account_domain():
    assert iam_user_name("acme-dev-backend@example-platform-dev.iam.gserviceaccount.com") == "acme-dev-backend@example-platform-dev.iam"
    with pytest.raises(ValueError, match="not a service account email"):
        iam_user_name("someone@example.com")
