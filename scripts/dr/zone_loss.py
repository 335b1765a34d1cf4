"""Zone loss: cordon and drain every platform node in one zone, watch the workloads reschedule in the
other zones within their PodDisruptionBudgets, then give the zone back.

The drain evicts through the Eviction API, so a PDB that would be violated blocks it (it retries until the
timeout): a blocked drain is a finding, not a drill failure to work around.
"""
from __future__ import annotations

from stacks.components import APP_NAMESPACE
from stacks.config import EnvironmentConfig

from scripts.dr.common import cluster_ref, credentials
from scripts.dr.drill import Drill, Ref, Step

PARAMETERS = {"zone": "the zone to take away (default: the first of the environment's zones)"}
POOLS = ("general", "gpu", "workers")


def build(env: EnvironmentConfig, zone: str | None = None) -> Drill:
    zone = zone or env.zones[0]
    if zone not in env.zones:
        raise ValueError(f"--zone {zone!r}: {env.name} runs in {', '.join(env.zones)} (zones)")
    selector = f"topology.kubernetes.io/zone={zone},cloud.google.com/gke-nodepool in ({','.join(POOLS)})"
    pool_refs = tuple(Ref("cluster", "google_container_node_pool", "name", pool) for pool in POOLS)
    zone_ref = Ref("cluster", "google_container_cluster", "node_locations", zone)
    pdb_check = (
        f"kubectl get pdb -n {APP_NAMESPACE} -o jsonpath='{{range .items[*]}}{{.metadata.name}} "
        "{.status.currentHealthy} {.status.desiredHealthy}{\"\\n\"}{end}' | "
        "awk '{ print; if ($2 < $3) bad=1 } END { exit bad }'"
    )
    return Drill(
        name="zone-loss", title=f"loss of zone {zone}", env=env.name, scenario="zone-loss",
        notes=("The backend StatefulSet keeps one replica on a zonal volume: if it ran in this zone it stays "
               "Pending until uncordon (docs/dr.md, zone loss).",),
        steps=(
            credentials(env),
            Step(title="PodDisruptionBudgets before", refs=(cluster_ref(env),),
                 argv=("kubectl", "get", "pdb", "-n", APP_NAMESPACE)),
            Step(title=f"cordon the platform nodes in {zone}", refs=(zone_ref, *pool_refs),
                 argv=("kubectl", "cordon", "-l", selector)),
            Step(title=f"drain them within the PDBs", refs=(zone_ref,),
                 argv=("kubectl", "drain", "-l", selector, "--ignore-daemonsets", "--delete-emptydir-data",
                       "--timeout=15m")),
            Step(title="every Deployment is Available again",
                 argv=("kubectl", "wait", "deployments", "--all", "-n", APP_NAMESPACE, "--for=condition=Available",
                       "--timeout=15m")),
            Step(title="every PDB has its desired healthy pods", script=pdb_check),
            Step(title=f"give {zone} back (uncordon)", cleanup=True, argv=("kubectl", "uncordon", "-l", selector)),
        ),
    )
