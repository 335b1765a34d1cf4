"""Explicit ordering between constructs.

CDKTF does not turn `construct.node.add_dependency(other)` into Terraform `depends_on` (only a stack's
`add_dependency` means something); the call is silently ignored. `depend_on` sets `depends_on` on every
Terraform resource below `construct`, naming every resource below each target, in the plain
`<type>.<logical id>` form CDKTF itself writes.

Every read of a resource attribute is a round trip to the jsii kernel, so what never changes is read once
(a binding class's Terraform type per class, a resource's address per resource: several constructs often
wait for the same resources), and the dependencies this module added are remembered here instead of being
read back from each resource. Nothing else in the project sets `depends_on`, and nothing overrides a logical
id (`override_logical_id` after a `depend_on` would leave a remembered address stale).
"""
from __future__ import annotations

import weakref

from constructs_lib.cdk import Construct, TerraformResource

_resource_types: dict[type, str] = {}
_addresses: "weakref.WeakKeyDictionary[TerraformResource, str]" = weakref.WeakKeyDictionary()
_added: "weakref.WeakKeyDictionary[TerraformResource, frozenset[str]]" = weakref.WeakKeyDictionary()


def _resources(construct: Construct) -> list[TerraformResource]:
    return [node for node in construct.node.find_all() if isinstance(node, TerraformResource)]


def _address(resource: TerraformResource) -> str:
    if resource not in _addresses:
        binding = type(resource)
        if binding not in _resource_types:
            _resource_types[binding] = resource.terraform_resource_type
        _addresses[resource] = f"{_resource_types[binding]}.{resource.friendly_unique_id}"
    return _addresses[resource]


def depend_on(construct: Construct, *targets: Construct) -> None:
    references = frozenset(_address(resource) for target in targets for resource in _resources(target))
    if not references:
        raise ValueError(f"depend_on: {', '.join(t.node.path for t in targets)} contain no Terraform resources")
    dependents = _resources(construct)
    if not dependents:
        raise ValueError(f"depend_on: {construct.node.path} contains no Terraform resources")
    for resource in dependents:
        _added[resource] = _added.get(resource, frozenset()) | references
        resource.depends_on = sorted(_added[resource])
