"""Cloud Monitoring dashboards from reviewed JSON (monitoring/dashboards/cloud/)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

from constructs_lib.cdk import Construct, google


@dataclass(frozen=True, kw_only=True)
class DashboardsProps:
    project_id: str
    dashboards: Mapping[str, Mapping]
    """Name (construct id) → the Dashboard API JSON, whose displayName gets `name_prefix`."""
    name_prefix: str = ""
    """Start of every dashboard's display name (the environment). Default: none."""


class Dashboards(Construct):
    def __init__(self, scope: Construct, id: str, props: DashboardsProps) -> None:
        super().__init__(scope, id)
        for name, dashboard in props.dashboards.items():
            if not dashboard.get("displayName"):
                raise ValueError(f"Dashboards: {name} has no displayName")
            text = json.dumps({**dashboard, "displayName": props.name_prefix + dashboard["displayName"]}, sort_keys=True)
            if "${" in text:
                raise ValueError(f"Dashboards: {name} contains '${{', which Terraform would read as an interpolation")
            google.monitoring_dashboard.MonitoringDashboard(self, name, project=props.project_id, dashboard_json=text)
