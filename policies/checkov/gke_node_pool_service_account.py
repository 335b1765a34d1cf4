"""GKE nodes run as a dedicated service account, never the Compute Engine default one (which holds
roles/editor on the project in most organisations)."""
from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.common.util.data_structures_utils import find_in_dict
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class GKENodePoolServiceAccount(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure GKE nodes use a dedicated service account, not the Compute Engine default",
            id="CKV_PLATFORM_1",
            categories=(CheckCategories.KUBERNETES,),
            # The cluster's node_config configures the default pool, which exists during creation.
            supported_resources=("google_container_node_pool", "google_container_cluster"),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["node_config/[0]/service_account"]
        if find_in_dict(conf, "enable_autopilot/[0]") is True:
            return CheckResult.UNKNOWN
        account = find_in_dict(conf, "node_config/[0]/service_account/[0]")
        if not isinstance(account, str) or not account or account == "default":
            return CheckResult.FAILED
        if account.endswith("-compute@developer.gserviceaccount.com"):
            return CheckResult.FAILED
        return CheckResult.PASSED


check = GKENodePoolServiceAccount()
