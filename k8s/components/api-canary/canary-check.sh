#!/bin/sh
# Post-deploy check of the api-server canary, run by `skaffold verify -p prod` inside the cluster (Job
# k8s/verify/canary-verify-job.yaml). The image is busybox (allowed by the prod Binary Authorization policy), so
# this uses only POSIX sh, busybox wget, sed and awk. Exits non-zero - blocking promotion - when
#  1. the canary's /healthz does not answer 200, or
#  2. after BAKE_SECONDS, the canary served fewer than MIN_REQUESTS requests in WINDOW (cannot judge it), or
#  3. its 5xx ratio over WINDOW exceeds MAX_ERROR_RATIO.
# Request counts come from the services' own counter http_requests_total{code} (services/common), scraped by
# kube-prometheus-stack; series of the canary carry service="api-server-canary".
set -eu
CANARY_URL="${CANARY_URL:-http://api-server-canary.apps.svc.cluster.local:8080}"
PROMETHEUS_URL="${PROMETHEUS_URL:-http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090}"
BAKE_SECONDS="${BAKE_SECONDS:-300}"
WINDOW="${WINDOW:-5m}"
MIN_REQUESTS="${MIN_REQUESTS:-50}"
MAX_ERROR_RATIO="${MAX_ERROR_RATIO:-0.01}"
HEALTHZ_RETRIES="${HEALTHZ_RETRIES:-10}"
SELECTOR='namespace="apps",service="api-server-canary"'

healthz() {
  attempt=0
  until wget -q -T 5 -O /dev/null "$CANARY_URL/healthz"; do
    attempt=$((attempt + 1))
    if [ "$attempt" -gt "$HEALTHZ_RETRIES" ]; then
      echo "FAIL: $CANARY_URL/healthz did not answer 200"
      exit 1
    fi
    sleep 3
  done
}

# Prints the value of a single-sample instant query, or nothing when the result is empty. POST form body:
# the queries hold no '&', '+' or '%', so they need no encoding.
query() {
  wget -q -T 10 -O - --post-data "query=$1" "$PROMETHEUS_URL/api/v1/query" \
    | sed -n 's/.*"value": *\[[^,]*, *"\([^"]*\)" *\].*/\1/p'
}

healthz
echo "canary /healthz ok; baking for ${BAKE_SECONDS}s"
sleep "$BAKE_SECONDS"
healthz

total="$(query "sum(increase(http_requests_total{$SELECTOR}[$WINDOW]))")"
errors="$(query "sum(increase(http_requests_total{$SELECTOR,code=~\"5..\"}[$WINDOW]))")"
awk -v total="${total:-0}" -v errors="${errors:-0}" -v min="$MIN_REQUESTS" -v max="$MAX_ERROR_RATIO" 'BEGIN {
  if (total + 0 < min + 0) {
    printf "FAIL: only %s canary requests in the window (need %s to judge the error rate)\n", total, min
    exit 1
  }
  ratio = errors / total
  printf "canary: %.0f requests, %.0f 5xx, error ratio %.4f (max %s)\n", total, errors, ratio, max
  if (ratio > max + 0) { print "FAIL: canary error ratio too high"; exit 1 }
  print "OK: canary is healthy"
}'
