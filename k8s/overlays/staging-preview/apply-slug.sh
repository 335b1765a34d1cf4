#!/bin/sh
# Skaffold post-render hook of the staging-preview profile (manifests.hooks.after, withChange: true): reads the
# rendered k8s/overlays/staging-preview manifests on stdin and writes them to stdout with the placeholder
# `pr-slug-placeholder` replaced by $PREVIEW_SLUG (CI: PREVIEW_SLUG=$CI_COMMIT_REF_SLUG).
# The slug becomes part of a namespace (preview-<slug>, at most 63 characters) and of a DNS label, so it must
# be a DNS label of at most 55 characters.
set -eu
slug="${PREVIEW_SLUG:-}"
if ! printf '%s' "$slug" | grep -Eq '^[a-z0-9]([a-z0-9-]{0,53}[a-z0-9])?$'; then
  echo "apply-slug.sh: PREVIEW_SLUG='$slug' must be 1-55 characters of a-z, 0-9 and '-', not starting or ending with '-'" >&2
  exit 1
fi
exec sed -e "s/pr-slug-placeholder/${slug}/g"
