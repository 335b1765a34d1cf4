"""Cloud Armor backend security policy for the public edge: OWASP CRS 3.3 WAF rules, the CVE canary, a
per-client-IP rate limit, Layer-7 adaptive protection and an explicit default rule.

Rule order matters. Cloud Armor stops at the first matching rule, and a rate-limit rule whose conforming
requests are `allow`ed would end evaluation before the WAF saw them. So: CVE canary first, then the WAF deny
rules, then the rate limit, then the default allow.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from constructs_lib.cdk import Construct, google
from constructs_lib.limits import RateLimitAction, RateLimitInterval

# Preconfigured WAF rule sets of the ModSecurity Core Rule Set 3.3
# (https://cloud.google.com/armor/docs/waf-rules).
CRS_33_RULE_SETS = (
    "sqli-v33-stable",
    "xss-v33-stable",
    "lfi-v33-stable",
    "rfi-v33-stable",
    "rce-v33-stable",
    "methodenforcement-v33-stable",
    "scannerdetection-v33-stable",
    "protocolattack-v33-stable",
    "sessionfixation-v33-stable",
)
CVE_CANARY = "cve-canary"
# Log4Shell and other critical CVEs, every signature. Written exactly like this (no sensitivity argument):
# that is the form checkov's CKV_GCP_73 recognises.
CVE_CANARY_EXPRESSION = f"evaluatePreconfiguredWaf('{CVE_CANARY}')"
DEFAULT_RULE_PRIORITY = 2147483647
CVE_PRIORITY = 900
WAF_FIRST_PRIORITY = 1000
RATE_LIMIT_PRIORITY = 2000


def waf_expression(rule_set: str, sensitivity: int) -> str:
    return f"evaluatePreconfiguredWaf('{rule_set}', {{'sensitivity': {sensitivity}}})"


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    action: RateLimitAction = "throttle"
    """`throttle`: requests above the threshold get 429; `rate_based_ban`: the client IP is banned for
    `ban_duration_sec`. Default: throttle."""
    requests: int = 600
    """Requests per client IP per interval. Default: 600."""
    interval_sec: RateLimitInterval = 60
    """Window length in seconds. Default: 60."""
    ban_duration_sec: int = 600
    """rate_based_ban only. Default: 600."""


@dataclass(frozen=True, kw_only=True)
class ArmorPolicyProps:
    project_id: str
    name: str
    sensitivity: int = 1
    """CRS sensitivity level 1-4; higher catches more and blocks more false positives. Default: 1."""
    preview: bool = False
    """CRS rules log instead of blocking (tuning). The CVE canary always blocks. Default: off."""
    rule_sets: tuple[str, ...] = CRS_33_RULE_SETS
    """CRS 3.3 rule sets to deny. Default: all of them."""
    rate_limit: RateLimit = field(default_factory=RateLimit)
    """Per-client-IP limit. Default: RateLimit() (600 requests/minute, throttle)."""
    adaptive_protection: bool = True
    """Layer-7 DDoS adaptive protection (ML-based alerts and suggested rules). Default: on."""
    description: str = "Public edge: OWASP CRS 3.3, CVE canary, per-IP rate limit"


def _check(props: ArmorPolicyProps) -> None:
    where = f"ArmorPolicy {props.name}"
    if not props.rule_sets:
        raise ValueError(f"{where}: rule_sets is empty; a WAF policy without WAF rules protects nothing")
    unknown = [rule_set for rule_set in props.rule_sets if rule_set not in CRS_33_RULE_SETS]
    if unknown:
        raise ValueError(f"{where}: unknown rule set(s) {unknown}; expected CRS 3.3 sets: {', '.join(CRS_33_RULE_SETS)}")
    if len(set(props.rule_sets)) != len(props.rule_sets):
        raise ValueError(f"{where}: rule_sets lists a rule set twice: {list(props.rule_sets)}")


class ArmorPolicy(Construct):
    def __init__(self, scope: Construct, id: str, props: ArmorPolicyProps) -> None:
        super().__init__(scope, id)
        _check(props)
        m = google.compute_security_policy
        all_ips = m.ComputeSecurityPolicyRuleMatch(
            versioned_expr="SRC_IPS_V1", config=m.ComputeSecurityPolicyRuleMatchConfig(src_ip_ranges=["*"])
        )
        rules = [
            m.ComputeSecurityPolicyRule(
                priority=CVE_PRIORITY,
                action="deny(403)",
                description="CVE canary (Log4Shell and other critical CVEs); never in preview",
                match=m.ComputeSecurityPolicyRuleMatch(expr=m.ComputeSecurityPolicyRuleMatchExpr(expression=CVE_CANARY_EXPRESSION)),
                preview=False,
            )
        ]
        for index, rule_set in enumerate(props.rule_sets):
            rules.append(
                m.ComputeSecurityPolicyRule(
                    priority=WAF_FIRST_PRIORITY + 10 * index,
                    action="deny(403)",
                    description=f"OWASP CRS 3.3 {rule_set}, sensitivity {props.sensitivity}",
                    match=m.ComputeSecurityPolicyRuleMatch(
                        expr=m.ComputeSecurityPolicyRuleMatchExpr(expression=waf_expression(rule_set, props.sensitivity))
                    ),
                    preview=props.preview,
                )
            )
        limit = props.rate_limit
        rules.append(
            m.ComputeSecurityPolicyRule(
                priority=RATE_LIMIT_PRIORITY,
                action=limit.action,
                description=f"At most {limit.requests} requests per {limit.interval_sec}s per client IP",
                match=all_ips,
                rate_limit_options=m.ComputeSecurityPolicyRuleRateLimitOptions(
                    conform_action="allow",
                    exceed_action="deny(429)",
                    enforce_on_key="IP",
                    rate_limit_threshold=m.ComputeSecurityPolicyRuleRateLimitOptionsRateLimitThreshold(
                        count=limit.requests, interval_sec=limit.interval_sec
                    ),
                    ban_duration_sec=limit.ban_duration_sec if limit.action == "rate_based_ban" else None,
                ),
            )
        )
        rules.append(
            m.ComputeSecurityPolicyRule(
                priority=DEFAULT_RULE_PRIORITY,
                action="allow",
                description="Default: allow what no rule above denied",
                match=all_ips,
            )
        )
        self.policy = m.ComputeSecurityPolicy(
            self,
            "policy",
            project=props.project_id,
            name=props.name,
            description=props.description,
            type="CLOUD_ARMOR",
            rule=rules,
            adaptive_protection_config=m.ComputeSecurityPolicyAdaptiveProtectionConfig(
                layer7_ddos_defense_config=m.ComputeSecurityPolicyAdaptiveProtectionConfigLayer7DdosDefenseConfig(
                    enable=props.adaptive_protection, rule_visibility="STANDARD"
                )
            ),
            advanced_options_config=m.ComputeSecurityPolicyAdvancedOptionsConfig(
                # JSON bodies are parsed, so WAF rules see field values instead of raw JSON text (fewer false
                # positives on API payloads). Verbose logs name the matched field: what tuning in preview needs.
                json_parsing="STANDARD",
                log_level="VERBOSE" if props.preview else "NORMAL",
            ),
        )

    @property
    def name(self) -> str:
        return self.policy.name
