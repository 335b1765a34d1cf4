"""Kubernetes Secrets in etcd are encrypted with a customer-managed Cloud KMS key (application-layer
secrets encryption), not only by Google's default storage encryption."""
from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.common.util.data_structures_utils import find_in_dict
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class GKESecretsEncryption(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure GKE application-layer secrets encryption uses a Cloud KMS key",
            id="CKV_PLATFORM_3",
            categories=(CheckCategories.ENCRYPTION,),
            supported_resources=("google_container_cluster",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["database_encryption/[0]/state", "database_encryption/[0]/key_name"]
        state = find_in_dict(conf, "database_encryption/[0]/state/[0]")
        key = find_in_dict(conf, "database_encryption/[0]/key_name/[0]")
        if state == "ENCRYPTED" and isinstance(key, str) and key:
            return CheckResult.PASSED
        return CheckResult.FAILED


check = GKESecretsEncryption()
