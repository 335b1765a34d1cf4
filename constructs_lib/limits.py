"""The GCP choices and limits that both the configuration model (`stacks/config.py`) and the constructs
know. Stated once, here; free of CDK imports so the config model can use them before the framework loads.

The config model is where user input is validated against these. Constructs type their props with them and
keep only the guard rails that protect every caller (no whole-internet control plane, no default compute
account, CMEK present, ...)."""
from __future__ import annotations

from typing import Literal, get_args

ReleaseChannel = Literal["RAPID", "REGULAR", "STABLE"]
AutoscalingProfile = Literal["BALANCED", "OPTIMIZE_UTILIZATION"]
ExclusionScope = Literal["NO_UPGRADES", "NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES"]
SecurityPosture = Literal["BASIC", "ENTERPRISE", "DISABLED"]
VulnerabilityMode = Literal["VULNERABILITY_DISABLED", "VULNERABILITY_BASIC", "VULNERABILITY_ENTERPRISE"]
GpuDriverVersion = Literal["DEFAULT", "LATEST"]
LocationPolicy = Literal["BALANCED", "ANY"]
RateLimitAction = Literal["throttle", "rate_based_ban"]
# Cloud Armor's rate-limit windows, in seconds.
RateLimitInterval = Literal[10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600]
SslProfile = Literal["MODERN", "RESTRICTED"]
NatLogFilter = Literal["ERRORS_ONLY", "TRANSLATIONS_ONLY", "ALL"]

RATE_LIMIT_INTERVALS: tuple[int, ...] = get_args(RateLimitInterval)

# GKE's private control plane takes exactly a /28.
CONTROL_PLANE_PREFIX = 28
# Control-plane access from outside the VPC: a range broader than this is not "the office VPN" any more.
MIN_AUTHORIZED_NETWORK_PREFIX = 16
# GKE accepts at most 50 authorized networks on a private cluster.
MAX_AUTHORIZED_NETWORKS = 50
# GCP: at most 64 labels per resource.
MAX_LABELS = 64
# Cloud SQL and other Private Service Access producers need at least a /24.
MAX_PSA_PREFIX = 24
MAX_GPUS_PER_NODE = 8
# CIS GCP 1.10: KMS keys rotate at least every 90 days.
MAX_KEY_ROTATION_DAYS = 90
# OWASP CRS sensitivity levels Cloud Armor offers.
WAF_SENSITIVITY_LEVELS = (1, 4)
