"""Disaster-recovery drills as code: `python -m scripts.dr <drill> --env <env>` prints the exact commands
(dry run, the default); `--execute` runs them, times each step and compares with the RTO (docs/dr.md)."""
from __future__ import annotations

from scripts.dr import ci_identities, gke_restore, state_restore, zone_loss

# Drill name → module with PARAMETERS (option → help) and build(env, **options) -> Drill.
DRILLS = {
    "gke-restore": gke_restore,
    "zone-loss": zone_loss,
    "state-restore": state_restore,
    "ci-identities": ci_identities,
}
