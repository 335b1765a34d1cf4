"""Explicit ordering between constructs.

CDKTF does not turn `construct.node.add_dependency(other)` into Terraform `depends_on` (only a stack's
`add_dependency` means something); the call is silently ignored. `depend_on` sets `depends_on` on every
Terraform resource below `construct`, naming every resource below each target, in the plain
`<type>.<logical id>` form CDKTF itself writes.
"""
from __future__ import annotations

from constructs_lib.cdk import Construct, TerraformResource


def _resources(construct: Construct) -> list[TerraformResource]:
    return [node for node in construct.node.find_all() if isinstance(node, TerraformResource)]


def depend_on(construct: Construct, *targets: Construct) -> None:
    references = {
        f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"
        for target in targets
        for resource in _resources(target)
    }
    if not references:
        raise ValueError(f"depend_on: {', '.join(t.node.path for t in targets)} contain no Terraform resources")
    dependents = _resources(construct)
    if not dependents:
        raise ValueError(f"depend_on: {construct.node.path} contains no Terraform resources")
    for resource in dependents:
        resource.depends_on = sorted(set(resource.depends_on or ()) | references)
