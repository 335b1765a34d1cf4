"""The GitLab pipeline's logic (docs/ci-cd.md): `.gitlab-ci.yml` only calls `python -m ci <command>`.

Modules: `manifest` (stacks and their order from cdktf.out/manifest.json), `changes` (which stacks a merge
request changes), `pipeline` (the generated child pipeline), `plan` (terraform plan/apply, plan summary,
destroy guard), `identity` (Workload Identity Federation credentials, GitLab variables from the bootstrap
outputs), `tools` (pinned, checksummed tool downloads). None of them imports CDKTF.
"""
