"""The kubelet's unauthenticated read-only port (10255) is off: on every node pool, and as the cluster's
default for pools that do not say."""
from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.common.util.data_structures_utils import find_in_dict
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

KEYS = {
    "google_container_node_pool": "node_config/[0]/kubelet_config/[0]/insecure_kubelet_readonly_port_enabled/[0]",
    "google_container_cluster": "node_pool_defaults/[0]/node_config_defaults/[0]/insecure_kubelet_readonly_port_enabled/[0]",
}


class GKEKubeletReadOnlyPortDisabled(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the GKE kubelet read-only port is disabled",
            id="CKV_PLATFORM_2",
            categories=(CheckCategories.KUBERNETES,),
            supported_resources=tuple(KEYS),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        key = KEYS[self.entity_type]
        self.evaluated_keys = [key.removesuffix("/[0]")]
        # The provider takes the strings "TRUE"/"FALSE"; checkov's parser turns them into booleans.
        value = find_in_dict(conf, key)
        return CheckResult.PASSED if value is False or value == "FALSE" else CheckResult.FAILED


check = GKEKubeletReadOnlyPortDisabled()
