"""Generate docs/access-policies.md from every IAM grant in the synthesized stacks.

`python scripts/access_policies.py` rewrites it; tests/docs/test_generated_docs.py fails when it is stale.
Rows are merged across environments: names are shown with `<prefix>` and `<project>` in place of the
environment's own, and the `environments` column says where a grant exists, so a grant only one
environment has stands out.
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.docgen.synthesized import ROOT, SynthesizedApp, synthesize  # noqa: E402

TARGET = ROOT / "docs" / "access-policies.md"
IAM_TYPE = re.compile(r"google_(\w+?)_iam_(member|binding|policy)$")
# The attribute holding the resource a grant is on, by IAM resource type (project-level grants: `project`).
RESOURCE_ATTRIBUTES = ("service_account_id", "crypto_key_id", "secret_id", "bucket", "repository", "project")
KINDS = {
    "project": "project", "service_account": "service account", "kms_crypto_key": "KMS key",
    "secret_manager_secret": "secret", "storage_bucket": "bucket", "artifact_registry_repository": "repository",
}
WORKLOAD_MEMBER = re.compile(r"serviceAccount:[\w<>.-]+\.svc\.id\.goog\[([\w-]+)/([\w-]+)\]")
CI_MEMBER = re.compile(r"principalSet://iam\.googleapis\.com/.+/attribute\.(\w+)/(.+)")
REF_TEST = re.compile(r'assertion\.ref == "([^"]+)"')


@dataclass(frozen=True, order=True)
class Grant:
    layer: str
    resource: str
    role: str
    principal: str
    condition: str


def generic(text: str, env) -> str:
    """An environment's name with its prefix and project replaced, so environments' rows compare."""
    return text.replace(env.project_id, "<project>").replace(env.prefix, "<prefix>")


def short_principal(member: str) -> str:
    """Service-account emails without the common suffix; other members as IAM spells them."""
    return re.sub(r"^serviceAccount:([\w<>-]+)@<project>\.iam\.gserviceaccount\.com$", r"\1", member)


def resource_label(app: SynthesizedApp, stack: str, type_: str, body: dict, env) -> str:
    kind = IAM_TYPE.match(type_).group(1)
    attribute = next(key for key in RESOURCE_ATTRIBUTES if key in body)
    name = app.resolve(stack, str(body[attribute]))
    name = re.sub(r"^projects/[^/]+/serviceAccounts/([^@]+)@.*$", r"\1", name)
    return f"{KINDS.get(kind, kind.replace('_', ' '))} `{generic(name, env)}`"


def grants(app: SynthesizedApp, configs: dict) -> dict[Grant, list[str]]:
    """Every (layer, resource, role, principal, condition) → the environments that have it."""
    found: dict[Grant, list[str]] = defaultdict(list)
    for stack in app.stacks:
        env_name, layer = stack.rsplit("-", 1)
        env = configs[env_name]
        for type_, _, body in app.resources(stack):
            if not IAM_TYPE.match(type_):
                continue
            members = body.get("members") or [body["member"]]
            condition = body.get("condition", {}).get("title", "")
            for member in members:
                principal = short_principal(generic(app.resolve(stack, member), env))
                grant = Grant(layer, resource_label(app, stack, type_, body, env), generic(app.resolve(stack, body["role"]), env),
                              principal, condition)
                found[grant].append(env_name)
    return found


def environments_cell(envs: list[str], all_envs: tuple[str, ...]) -> str:
    return "all" if sorted(envs) == sorted(all_envs) else ", ".join(sorted(envs))


def ci_refs(app: SynthesizedApp, env_name: str) -> dict[str, str]:
    """Provider attribute (`protected`, `apply_allowed`) → which pipelines have it `true`, read from its CEL
    mapping."""
    stack = f"{env_name}-bootstrap"
    mapping = next(body for _, _, body in app.resources(stack, "google_iam_workload_identity_pool_provider"))["attribute_mapping"]
    described = {}
    for key, expression in mapping.items():
        attribute = key.removeprefix("attribute.")
        if "? 'true'" not in expression:
            continue
        refs = REF_TEST.findall(expression)
        what = "pipelines of protected refs, never merge-request pipelines"
        if refs:
            what = f"pipelines of the protected branch(es) {', '.join(f'`{ref}`' for ref in refs)}, never merge-request pipelines"
        described[attribute] = what
    return described


def render(app: SynthesizedApp, configs: dict) -> str:
    from stacks.bootstrap import ci_identities

    all_envs = app.environments
    found = grants(app, configs)
    reasons = {}
    for env_name in all_envs:
        for identity in ci_identities(configs[env_name]).values():
            for role in identity.roles:
                reasons[(generic(identity.account_id, configs[env_name]), generic(role.role, configs[env_name]))] = role.reason
    out = [
        "# Access policies",
        "",
        "<!-- Generated by scripts/access_policies.py from the synthesized stacks; do not edit by hand. -->",
        "",
        "Every IAM grant the platform makes, read from the synthesized Terraform JSON of every environment.",
        "Names use `<prefix>` and `<project>` for the environment's own (`prefix`, `project_id` in",
        "[configuration.md](configuration.md)); **environments** says where a grant exists. Service accounts",
        "appear by account id (`<prefix>-grafana` is `<prefix>-grafana@<project>.iam.gserviceaccount.com`).",
        "No grant is made outside Terraform; no account has a key; no role is primitive. Why each account",
        "exists: [security.md](security.md) and [layers.md](layers.md).",
        "",
        "## Grants",
        "",
    ]
    by_layer = defaultdict(list)
    for grant, envs in found.items():
        if grant.role != "roles/iam.workloadIdentityUser":
            by_layer[grant.layer].append((grant, envs))
    for layer in sorted(by_layer, key=lambda name: app.layers(all_envs[0]).index(name) if name in app.layers(all_envs[0]) else 99):
        out += [f"### {layer} layer", "", "| principal | role | resource | environments | condition | why |", "|---|---|---|---|---|---|"]
        for grant, envs in sorted(by_layer[layer], key=lambda item: (item[0].principal, item[0].role, item[0].resource)):
            why = reasons.get((grant.principal, grant.role), "")
            condition = f"`{grant.condition}`" if grant.condition else ""
            out.append(f"| `{grant.principal}` | `{grant.role}` | {grant.resource} | {environments_cell(envs, all_envs)} "
                       f"| {condition} | {why} |")
        out.append("")

    conditions = {}
    for stack in app.stacks:
        for _, _, body in app.resources(stack, "google_project_iam_member"):
            if "condition" in body:
                env = configs[stack.rsplit("-", 1)[0]]
                conditions.setdefault(body["condition"]["title"], generic(body["condition"]["description"], env))
    if conditions:
        out += ["### Conditions", "", "| condition | what it allows |", "|---|---|"]
        out += [f"| `{title}` | {description} |" for title, description in sorted(conditions.items())]
        out.append("")

    out += ["## Workload Identity (Kubernetes service account → Google service account)", "",
            "Granted `roles/iam.workloadIdentityUser` in the cluster layer: a pod running as the KSA acts as the GSA,",
            "with no key. Any other KSA is refused by IAM.", "",
            "| namespace | Kubernetes service account | Google service account | environments |", "|---|---|---|---|"]
    rows = []
    for grant, envs in found.items():
        match = WORKLOAD_MEMBER.fullmatch(grant.principal)
        if grant.role == "roles/iam.workloadIdentityUser" and match:
            account = re.sub(r"^service account `(.+)`$", r"\1", grant.resource)
            rows.append((match.group(1), match.group(2), account, environments_cell(envs, all_envs)))
    out += [f"| `{ns}` | `{ksa}` | `{gsa}` | {envs} |" for ns, ksa, gsa, envs in sorted(rows)]
    out.append("")

    out += ["## CI identities (GitLab OIDC → Workload Identity Federation)", "",
            "A GitLab job exchanges its id_token at the environment's pool `<prefix>-gitlab`; the provider accepts",
            "only tokens of the configured project and group (`ci.project_id`, `ci.namespace_id`). Which pipelines",
            "may act as which account is decided by the provider's attribute mapping, per environment:", "",
            "| account | may be used by | project roles |", "|---|---|---|"]
    users: dict[str, dict[str, str]] = defaultdict(dict)
    roles: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for env_name in all_envs:
        refs = ci_refs(app, env_name)
        for grant, envs in found.items():
            match = CI_MEMBER.fullmatch(grant.principal)
            if env_name not in envs or not match or grant.role != "roles/iam.workloadIdentityUser":
                continue
            account = re.sub(r"^service account `(.+)`$", r"\1", grant.resource)
            attribute, value = match.groups()
            if value == "true":
                users[account][env_name] = refs.get(attribute, f"pipelines whose `{attribute}` is true")
            elif attribute == "project_id":
                users[account][env_name] = f"every pipeline of GitLab project {value}, merge-request pipelines included"
            else:
                users[account][env_name] = f"pipelines whose `{attribute}` is `{value}`"
            roles[account].add(tuple(sorted(g.role for g, where in found.items()
                                            if g.principal == account and env_name in where and g.resource == "project `<project>`")))
    for account in sorted(users):
        who = "<br>".join(f"{env_name}: {text}" for env_name, text in sorted(users[account].items()))
        project_roles = sorted({role for combination in roles[account] for role in combination})
        out.append(f"| `{account}` | {who} | {', '.join(f'`{role}`' for role in project_roles) or 'none'} |")
    out.append("")

    out += ["## Custom roles", ""]
    roles_seen: dict[tuple, list[str]] = defaultdict(list)
    for stack in app.stacks:
        for _, _, body in app.resources(stack, "google_project_iam_custom_role"):
            roles_seen[(body["role_id"], body["title"], body["description"], tuple(body["permissions"]))].append(stack.rsplit("-", 1)[0])
    for (role_id, title, description, permissions), envs in sorted(roles_seen.items()):
        out += [f"### `{role_id}` ({title})", "", f"{description}. Environments: {environments_cell(envs, all_envs)}.", "",
                *[f"- `{permission}`" for permission in permissions], ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> None:
    from stacks.config import load_configs

    configs = {config.name: config for config in load_configs(ROOT / "config")}
    TARGET.write_text(render(synthesize(), configs), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
