"""Re-create a CI identity: replace its service account through Terraform (a new account, new unique id),
re-apply the stacks holding grants to it, and check its Workload Identity binding is back.

Run by a person with Owner (docs/bootstrap.md): CI cannot re-create its own accounts (the apply identity's
serviceAccountAdmin condition excludes `<prefix>-ci-*`). terraform apply asks for confirmation; nothing is
auto-approved.
"""
from __future__ import annotations

from stacks.config import EnvironmentConfig

from scripts.dr.common import service_account_email
from scripts.dr.drill import Drill, Ref, Step

PARAMETERS = {"identity": "plan, apply, push or deploy (default: plan)"}
IDENTITIES = ("plan", "apply", "push", "deploy")
# The other stacks that grant something to the identity, and the grant the test finds there.
GRANTS_ELSEWHERE = {
    "apply": (("security", "google_service_account_iam_binding", "members"),),
    "push": (("cluster", "google_artifact_registry_repository_iam_binding", "members"),),
}


def build(env: EnvironmentConfig, identity: str = "plan") -> Drill:
    if identity not in IDENTITIES:
        raise ValueError(f"--identity {identity!r}: expected one of {', '.join(IDENTITIES)}")
    account = f"ci-{identity}"
    email = service_account_email(env, account)
    stacks = ["bootstrap"] + [layer for layer, _, _ in GRANTS_ELSEWHERE.get(identity, ())]
    steps = [
        Step(title=f"synthesize {env.name} (Terraform JSON of its stacks)",
             argv=(".venv/bin/python", "main.py", "--env", env.name)),
    ]
    for layer in stacks:
        workdir = f"cdktf.out/stacks/{env.name}-{layer}"
        steps.append(Step(title=f"terraform init {env.name}-{layer}", argv=("terraform", f"-chdir={workdir}", "init", "-input=false")))
    bootstrap = f"cdktf.out/stacks/{env.name}-bootstrap"
    steps += [
        Step(title=f"state address of {email}", capture="ADDRESS",
             refs=(Ref("bootstrap", "google_service_account", "account_id", f"{env.prefix}-{account}"),),
             script=(f"terraform -chdir={bootstrap} state list | grep -E '^google_service_account\\.gitlab_{identity}_account_'")),
        Step(title=f"replace {account} and re-apply its bindings in {env.name}-bootstrap (confirm the plan)",
             argv=("terraform", f"-chdir={bootstrap}", "apply", "-input=false", "-replace={ADDRESS}")),
    ]
    for layer, type_, attribute in GRANTS_ELSEWHERE.get(identity, ()):
        steps.append(Step(title=f"re-apply {env.name}-{layer}, whose grants named the old account (confirm the plan)",
                          refs=(Ref(layer, type_, attribute, f"serviceAccount:{email}"),),
                          argv=("terraform", f"-chdir=cdktf.out/stacks/{env.name}-{layer}", "apply", "-input=false")))
    steps.append(Step(title="the Workload Identity binding is back on the new account",
                      refs=(Ref("bootstrap", "google_service_account_iam_member", "role", "roles/iam.workloadIdentityUser"),),
                      script=(f"gcloud iam service-accounts get-iam-policy {email} --project {env.project_id} "
                                          "--format=json | grep -q roles/iam.workloadIdentityUser")))
    return Drill(name="ci-identities", title=f"re-create the CI identity {account}", env=env.name,
                 scenario="ci-credentials", steps=tuple(steps),
                 notes=("Pipelines using this identity fail between the replace and the re-applies; run outside deploy windows.",))
