"""Kubernetes delivery: kustomize bases/overlays (data) plus the small Python helpers that generate and render them."""
