"""python -m ci <command>: the commands the GitLab jobs run (docs/ci-cd.md)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from ci import changes, checkov_reports, deliver, identity, manifest, pipeline, plan, tools

ROOT = Path(__file__).resolve().parent.parent


def _apply_refs(config_dir: Path) -> dict[str, tuple[str, ...]]:
    from stacks.config import load_configs

    return {config.name: tuple(config.ci.apply_refs) for config in load_configs(config_dir)}


def child_pipeline(outdir: Path, environ, apply_refs, synthesize_base) -> dict:
    """The child pipeline for this pipeline's situation. In merge requests, `synthesize_base(sha, dir)`
    writes the merge base's synth and only changed stacks (+ dependents) are planned; if that fails, all."""
    situation = pipeline.Situation.from_environ(environ)
    only = None
    base_sha = environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA", "")
    if situation.source == "merge_request_event" and base_sha and environ.get("PLATFORM_PLAN_ALL") != "true":
        base = outdir.parent / "cdktf.base"
        try:
            synthesize_base(base_sha, base)
            only = changes.changed_stacks(outdir, base)
        except (subprocess.CalledProcessError, manifest.ManifestError) as exc:
            print(f"could not synthesize the merge base {base_sha} ({exc}); planning every stack", file=sys.stderr)
        print(f"stacks this merge request changes (with dependents): {', '.join(sorted(only)) if only is not None else 'all'}")
    return pipeline.generate(manifest.load(outdir), pipeline.modes(situation, apply_refs), only=only)


def cmd_synth(args: argparse.Namespace) -> int:
    """Synthesize, decide what this pipeline plans and applies, write the child pipeline."""
    outdir = ROOT / "cdktf.out"
    subprocess.run([sys.executable, str(ROOT / "main.py"), "--outdir", str(outdir)], check=True)
    document = child_pipeline(
        outdir, os.environ, _apply_refs(ROOT / "config"),
        lambda sha, base: changes.synthesize_commit(ROOT, sha, base),
    )
    Path(args.output).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    print(f"wrote {args.output}: {', '.join(job for job in document if ':' in job) or 'no plan jobs'}")
    return 0


def _terraform(stack: str, outdir: Path = ROOT / "cdktf.out") -> tuple[plan.Terraform, Path]:
    directory = plan.stack_directory(outdir, manifest.load(outdir), stack)
    scratch = Path(tempfile.mkdtemp(prefix="ci-credentials-"))
    env = identity.job_environment(os.environ, scratch)
    env.setdefault("TF_PLUGIN_CACHE_DIR", str(ROOT / ".cache" / "terraform-plugins"))
    Path(env["TF_PLUGIN_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
    env["TF_IN_AUTOMATION"] = "1"
    # Exec credential plugins of the stack's providers, as the generated job names them (pipeline.TOOLS_VARIABLE).
    needed = tuple(os.environ.get(pipeline.TOOLS_VARIABLE, "").split())
    if needed:
        env["PATH"] = tools.bin_dir(needed) + os.pathsep + env.get("PATH", "")
    return plan.Terraform(tools.install("terraform"), directory, env), scratch


def cmd_plan(args: argparse.Namespace) -> int:
    tf, _ = _terraform(args.stack)
    mode = os.environ.get("PLATFORM_PLAN_MODE", "plan")
    return plan.plan_stack(tf, args.stack, mode, os.environ.get(plan.ALLOW_DESTROY_VARIABLE, ""))


def cmd_apply(args: argparse.Namespace) -> int:
    tf, _ = _terraform(args.stack)
    return plan.apply_stack(tf, args.stack)


def cmd_gitlab_variables(args: argparse.Namespace) -> int:
    """Print the GitLab CI variables of one environment from its bootstrap stack's outputs."""
    if args.outputs_json:
        outputs = json.loads(Path(args.outputs_json).read_text(encoding="utf-8"))
    else:
        directory = ROOT / "cdktf.out" / "stacks" / f"{args.env}-bootstrap"
        terraform = str(tools.install("terraform"))
        subprocess.run([terraform, f"-chdir={directory}", "init", "-input=false"], check=True, stdout=sys.stderr)
        result = subprocess.run([terraform, f"-chdir={directory}", "output", "-json"], check=True, capture_output=True, text=True)
        outputs = json.loads(result.stdout)
    for name, value in identity.gitlab_variables(args.env, outputs).items():
        print(f"{name}={value}")
    return 0


def cmd_resource_groups(args: argparse.Namespace) -> int:
    """The one-time API calls that make every apply resource group process jobs oldest first."""
    for name in manifest.dependency_order(manifest.load(Path(args.outdir))):
        print(
            'curl --fail --request PUT --header "PRIVATE-TOKEN: $GITLAB_TOKEN" '
            f'"$CI_API_V4_URL/projects/$CI_PROJECT_ID/resource_groups/{name}" --data "process_mode=oldest_first"'
        )
    return 0


def cmd_tools(args: argparse.Namespace) -> int:
    """Install the tools; print their PATH entries (`PATH="$(python -m ci tools kubectl):$PATH"`)."""
    print(tools.bin_dir(tuple(args.names)))
    return 0


def cmd_checkov_reports(args: argparse.Namespace) -> int:
    """Synthesize, render the manifests, write checkov's JUnit and GitLab SAST reports into --reports."""
    outdir = ROOT / "cdktf.out"
    subprocess.run([sys.executable, str(ROOT / "main.py"), "--outdir", str(outdir)], check=True)
    rendered = Path(tempfile.mkdtemp(prefix="ci-rendered-"))
    checkov_reports.render_manifests(rendered)
    return checkov_reports.run(outdir / "stacks", rendered, Path(args.reports))


def cmd_deliver(args: argparse.Namespace) -> int:
    return deliver.run(args.step, os.environ, Path(tempfile.mkdtemp(prefix="ci-deliver-")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("synth", help="synthesize and write the child pipeline")
    p.add_argument("--output", default=pipeline.CHILD_FILE)
    p.set_defaults(func=cmd_synth)
    for name, func in (("plan", cmd_plan), ("apply", cmd_apply)):
        p = sub.add_parser(name, help=f"terraform {name} of one stack")
        p.add_argument("stack")
        p.set_defaults(func=func)
    p = sub.add_parser("gitlab-variables", help="GitLab CI variables from the bootstrap outputs of ENV")
    p.add_argument("env")
    p.add_argument("--outputs-json", help="a saved `terraform output -json` instead of running terraform")
    p.set_defaults(func=cmd_gitlab_variables)
    p = sub.add_parser("resource-groups", help="API calls setting process_mode=oldest_first")
    p.add_argument("--outdir", default=str(ROOT / "cdktf.out"))
    p.set_defaults(func=cmd_resource_groups)
    p = sub.add_parser("tools", help="install pinned tools")
    p.add_argument("names", nargs="+")
    p.set_defaults(func=cmd_tools)
    p = sub.add_parser("checkov-reports", help="checkov findings as JUnit and GitLab SAST reports")
    p.add_argument("--reports", default="reports")
    p.set_defaults(func=cmd_checkov_reports)
    p = sub.add_parser("deliver", help="a Skaffold delivery step")
    p.add_argument("step", choices=sorted(deliver.STEPS))
    p.set_defaults(func=cmd_deliver)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (identity.IdentityError, tools.ToolError, plan.AcknowledgementError, manifest.ManifestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
