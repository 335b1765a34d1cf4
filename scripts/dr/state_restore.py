"""Terraform state: restore the previous object version of one stack's state into a scratch object,
check it is a valid state of the same lineage and an older serial than the live one, then delete it.

The real recovery copies that version over the live object (docs/runbook.md, restore Terraform state);
the drill never overwrites live state.
"""
from __future__ import annotations

from stacks.config import EnvironmentConfig
from stacks.layers import LAYERS

from scripts.dr.drill import Drill, Ref, Step

PARAMETERS = {"layer": "the stack whose state is restored (default: network)"}
CHECK = """\
import json, sys
live, old = (json.load(open(path)) for path in sys.argv[1:3])
assert old["lineage"] == live["lineage"], "lineage differs: not the same state"
assert old["serial"] < live["serial"], f"serial {old['serial']} is not older than {live['serial']}"
print(f"ok: lineage {old['lineage']}, serial {old['serial']} < live {live['serial']}, {len(old.get('resources', []))} resources")
"""


def build(env: EnvironmentConfig, layer: str = "network") -> Drill:
    if layer not in LAYERS:
        raise ValueError(f"--layer {layer!r}: expected one of {', '.join(LAYERS)}")
    stack = f"{env.name}-{layer}"
    live = f"gs://{env.state_bucket}/stacks/{stack}/default.tfstate"
    scratch = f"gs://{env.state_bucket}/dr-drill/{stack}/default.tfstate"
    bucket_ref = Ref("bootstrap", "google_storage_bucket", "name", env.state_bucket)
    prefix_ref = Ref(layer, "terraform", "backend.gcs.prefix", f"stacks/{stack}")
    return Drill(
        name="state-restore", title=f"restore the previous state version of {stack}", env=env.name,
        scenario="terraform-state", files={"check_state.py": CHECK},
        steps=(
            Step(title=f"versions of {live}", refs=(bucket_ref, prefix_ref),
                 argv=("gcloud", "storage", "ls", "--all-versions", "--long", live)),
            Step(title="the generation before the live one", capture="GENERATION",
                 script=(f"gcloud storage objects list {live} --all-versions --format='value(generation)' "
                                     "| sort -n | tail -2 | head -1")),
            Step(title="copy that version to a scratch object",
                 argv=("gcloud", "storage", "cp", f"{live}#{{GENERATION}}", scratch)),
            Step(title="same lineage, older serial",
                 script=(f"python3 {{FILE_CHECK_STATE_PY}} <(gcloud storage cat {live}) <(gcloud storage cat {scratch})")),
            Step(title="delete the scratch object", cleanup=True, argv=("gcloud", "storage", "rm", scratch)),
        ),
    )
