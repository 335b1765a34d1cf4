"""Render the kustomize overlays exactly as Skaffold does, for tests, reviews and policy scans.

    python -m k8s.render                 # print every overlay's objects as `kind namespace/name`
    python -m k8s.render --out DIR       # write DIR/<overlay>/rendered.yaml (what CI scans with checkov)

Skaffold runs `kustomize build` on the profile's path and then its post-render hooks; `render_overlay` does
the same with `kubectl kustomize` (kubectl's embedded kustomize), and for the preview overlay pipes the
result through the same hook script with a sample slug.
"""
from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from stacks.config import environment_names

REPO_ROOT = Path(__file__).resolve().parent.parent
OVERLAYS_DIR = REPO_ROOT / "k8s" / "overlays"
BASE_DIR = REPO_ROOT / "k8s" / "base"

# Environment overlays, one per config/<env>.yaml (tests/k8s check each has its directory).
ENV_OVERLAYS = environment_names(REPO_ROOT / "config")
# Delivery overlays derived from an environment: overlay -> environment (cluster) it deploys to.
DELIVERY_OVERLAYS = {"staging-preview": "staging", "prod-canary": "prod"}
ALL_OVERLAYS = ENV_OVERLAYS + tuple(DELIVERY_OVERLAYS)
# Delivery overlays applied on top of their environment's running release rather than instead of it.
STEP_OVERLAYS = ("prod-canary",)

PREVIEW_HOOK = OVERLAYS_DIR / "staging-preview" / "apply-slug.sh"
PREVIEW_PLACEHOLDER = "pr-slug-placeholder"
SAMPLE_PREVIEW_SLUG = "feature-sample-branch"

POD_OWNER_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def environment_of(overlay: str) -> str:
    return DELIVERY_OVERLAYS.get(overlay, overlay)


def kubectl() -> str:
    found = shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl (with its embedded kustomize) is needed to render the overlays; install it "
                           "(e.g. apt-get install kubectl) or put it on PATH")
    return found


def kustomize_build(path: Path) -> str:
    proc = subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {path} failed:\n{proc.stderr}")
    return proc.stdout


def apply_preview_slug(rendered: str, slug: str = SAMPLE_PREVIEW_SLUG) -> str:
    """Run the staging-preview post-render hook, as Skaffold does (manifests on stdin, result on stdout)."""
    env = {**os.environ, "PREVIEW_SLUG": slug}
    proc = subprocess.run(["sh", str(PREVIEW_HOOK)], input=rendered, capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{PREVIEW_HOOK.name} failed for slug {slug!r}:\n{proc.stderr}")
    return proc.stdout


def render_overlay(overlay: str) -> str:
    text = kustomize_build(OVERLAYS_DIR / overlay)
    if overlay == "staging-preview":
        text = apply_preview_slug(text)
    return text


def load_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@dataclass(frozen=True)
class Rendered:
    overlay: str
    text: str
    objects: tuple[dict[str, Any], ...]

    def find(self, kind: str, name: str) -> dict[str, Any]:
        matches = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        if len(matches) != 1:
            raise KeyError(f"{self.overlay}: expected one {kind}/{name}, found {len(matches)}")
        return matches[0]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def pod_owners(self) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] in POD_OWNER_KINDS]


@functools.lru_cache(maxsize=None)
def render(overlay: str) -> Rendered:
    """Render once per process: tests in different folders share the result (treat it as read-only)."""
    text = render_overlay(overlay)
    return Rendered(overlay, text, tuple(load_documents(text)))


@functools.lru_cache(maxsize=None)
def render_base() -> Rendered:
    text = kustomize_build(BASE_DIR)
    return Rendered("base", text, tuple(load_documents(text)))


def live_objects(rendered: dict[str, "Rendered"], overlay: str, kind: str) -> list[dict[str, Any]]:
    """Objects of `kind` in the cluster once `overlay` is applied. A delivery overlay that is a step on top of
    its environment's release (the prod canary) lives among that release's objects (PDBs, NetworkPolicies,
    Services, monitors), so those count too."""
    objects: dict[str, dict[str, Any]] = {}
    if overlay in STEP_OVERLAYS:
        objects = {object_key(o): o for o in rendered[environment_of(overlay)].of_kind(kind)}
    return list({**objects, **{object_key(o): o for o in rendered[overlay].of_kind(kind)}}.values())


def object_key(obj: dict[str, Any]) -> str:
    """`Kind/namespace/name`, the resource form the checkov exceptions use ('-' for cluster-scoped)."""
    meta = obj.get("metadata", {})
    return f"{obj['kind']}/{meta.get('namespace', '-')}/{meta['name']}"


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def containers(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(obj)
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the kustomize overlays as Skaffold would.")
    parser.add_argument("overlays", nargs="*", default=list(ALL_OVERLAYS), help=", ".join(ALL_OVERLAYS))
    parser.add_argument("--out", type=Path, help="write <out>/<overlay>/rendered.yaml instead of a summary")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.overlays) - set(ALL_OVERLAYS))
    if unknown:
        parser.error(f"unknown overlay(s): {', '.join(unknown)}")
    for overlay in args.overlays:
        rendered = render(overlay)
        if args.out:
            target = args.out / overlay / "rendered.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rendered.text, encoding="utf-8")
            print(f"wrote {target} ({len(rendered.objects)} objects)")
        else:
            print(f"# {overlay}: {len(rendered.objects)} objects")
            for obj in rendered.objects:
                print(f"  {object_key(obj)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
