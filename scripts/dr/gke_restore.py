"""Backup for GKE: restore one backed-up namespace from the newest backup into a scratch namespace, check
that what came back matches the live namespace, then remove the copy.

The Terraform restore plan `<prefix>-gke-restore` restores in place and fails on conflicts, which a drill
cannot exercise without deleting a live namespace; the drill therefore creates a short-lived restore plan
on the same backup plan with transformation rules that rename the namespace and drop its Gateway-access
label (so restored HTTPRoutes never attach to the production Gateway, and restored pods, whose KSA now
lives in another namespace, cannot act as the Google service accounts).
"""
from __future__ import annotations

from stacks.config import EnvironmentConfig
from stacks.naming import resource_name

from scripts.dr.common import cluster_name, cluster_ref, credentials
from scripts.dr.drill import Drill, Ref, Step

# Restoring a namespace's copy exercises the same path as restoring corrupted volumes from a good backup.
ALSO_COVERS = ("data-corruption",)
PARAMETERS = {"namespace": "the backed-up namespace to restore (default: the first of cluster.backup.namespaces)"}
GATEWAY_ACCESS_LABEL = "platform.example.com/gateway-access"
KINDS = "deployments,statefulsets,services,configmaps,secrets,persistentvolumeclaims,serviceaccounts"


def rules(source: str, target: str) -> str:
    label_path = "/metadata/labels/" + GATEWAY_ACCESS_LABEL.replace("~", "~0").replace("/", "~1")
    return f"""\
- description: restore namespace {source} as {target}
  resourceFilter:
    namespaces: [""]
    groupKinds: [{{resourceGroup: "", resourceKind: Namespace}}]
    jsonPath: ".metadata[?(@.name == '{source}')]"
  fieldActions:
    - {{op: REPLACE, path: /metadata/name, value: {target}}}
- description: never attach restored routes to the Gateway
  resourceFilter:
    namespaces: [""]
    groupKinds: [{{resourceGroup: "", resourceKind: Namespace}}]
  fieldActions:
    - {{op: REMOVE, path: "{label_path}"}}
- description: move the namespace's objects into {target}
  resourceFilter:
    namespaces: [{source}]
  fieldActions:
    - {{op: REPLACE, path: /metadata/namespace, value: {target}}}
"""


def build(env: EnvironmentConfig, namespace: str | None = None) -> Drill:
    namespace = namespace or env.cluster.backup.namespaces[0]
    if namespace not in env.cluster.backup.namespaces:
        raise ValueError(f"--namespace {namespace!r}: not backed up in {env.name}; expected one of "
                         f"{', '.join(env.cluster.backup.namespaces)} (cluster.backup.namespaces)")
    scratch = f"dr-drill-{namespace}"
    plan = resource_name(env.prefix, "gke-backup")
    drill_plan = resource_name(env.prefix, f"dr-drill-{namespace}")
    location = f"projects/{env.project_id}/locations/{env.region}"
    plan_ref = Ref("cluster", "google_gke_backup_backup_plan", "name", plan)
    gcloud = ("gcloud", "beta", "container", "backup-restore")
    where = ("--project", env.project_id, "--location", env.region)
    list_names = f"kubectl get {KINDS} -n {{NS}} -o name | sort"
    return Drill(
        name="gke-restore", title=f"Backup for GKE restore of namespace {namespace} into {scratch}", env=env.name,
        scenario="deleted-namespace", files={"rules.yaml": rules(namespace, scratch)},
        notes=(f"Restores a copy beside the live namespace; the in-place restore plan {resource_name(env.prefix, 'gke-restore')} "
               "is the procedure for a real loss (docs/runbook.md).",),
        steps=(
            credentials(env),
            Step(title=f"newest succeeded backup of {plan}", capture="BACKUP", refs=(plan_ref,),
                 argv=(*gcloud, "backups", "list", *where, "--backup-plan", plan, "--filter", "state=SUCCEEDED",
                       "--sort-by", "~createTime", "--limit", "1", "--format", "value(name)")),
            Step(title=f"short-lived restore plan {drill_plan} renaming {namespace} to {scratch}",
                 refs=(plan_ref, cluster_ref(env)),
                 argv=(*gcloud, "restore-plans", "create", drill_plan, *where,
                       "--backup-plan", f"{location}/backupPlans/{plan}",
                       "--cluster", f"{location}/clusters/{cluster_name(env)}",
                       "--selected-namespaces", namespace, "--namespaced-resource-restore-mode", "fail-on-conflict",
                       "--volume-data-restore-policy", "restore-volume-data-from-backup",
                       "--cluster-resource-conflict-policy", "use-existing-version",
                       "--cluster-resource-scope-no-group-kinds",
                       "--transformation-rules-file", "{FILE_RULES_YAML}")),
            Step(title="restore the backup through it (waits for completion)",
                 argv=(*gcloud, "restores", "create", f"{drill_plan}-run", *where, "--restore-plan", drill_plan,
                       "--backup", "{BACKUP}", "--wait-for-completion")),
            Step(title=f"every restored pod in {scratch} becomes Ready",
                 argv=("kubectl", "wait", "pods", "--all", "-n", scratch, "--for=condition=Ready", "--timeout=20m")),
            Step(title=f"consistency: {scratch} holds the same objects as {namespace}",
                 script=(f"diff <({list_names.replace('{NS}', namespace)}) <({list_names.replace('{NS}', scratch)})")),
            Step(title=f"remove the copy {scratch}", cleanup=True,
                 argv=("kubectl", "delete", "namespace", scratch, "--ignore-not-found", "--wait=true")),
            Step(title=f"remove the restore record and the plan {drill_plan}", cleanup=True,
                 script=(f"gcloud beta container backup-restore restores delete {drill_plan}-run --restore-plan {drill_plan} "
                                     f"--project {env.project_id} --location {env.region} --quiet; "
                                     f"gcloud beta container backup-restore restore-plans delete {drill_plan} "
                                     f"--project {env.project_id} --location {env.region} --quiet")),
        ),
    )
