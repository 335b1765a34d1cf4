"""Keyless Google credentials for CI jobs, and the GitLab variables they are configured from.

GitLab signs an OIDC token for each job (`id_tokens`, audience = the Workload Identity provider of the
environment's bootstrap stack). An external-account credential file tells the google provider, the GCS
backend, gcloud and the Google client libraries to exchange that token at Google's STS and impersonate
one service account. No service account key exists anywhere.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import requests

from ci.pipeline import variable

# Bootstrap stack outputs (stacks/bootstrap.py) that CI reads; HELPERS interface.
BOOTSTRAP_OUTPUTS = (
    "workload_identity_provider",
    "workload_identity_audience",
    "plan_service_account",
    "apply_service_account",
    "push_service_account",
    "deploy_service_account",
    "state_bucket",
)
IDENTITIES = ("plan", "apply", "push", "deploy")
TOKEN_VARIABLE = "GITLAB_OIDC_TOKEN"
STS_URL = "https://sts.googleapis.com/v1/token"
IAM_CREDENTIALS_URL = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:generateAccessToken"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


class IdentityError(ValueError):
    """A variable the job needs is unset: the message names it and where it comes from."""


def _required(environ: Mapping[str, str], name: str, origin: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise IdentityError(f"CI variable {name} is not set; {origin}")
    return value


def credential_config(audience: str, service_account: str, token_file: Path) -> dict:
    """The external-account credential file (google.auth `external_account`, file-sourced subject token)."""
    return {
        "type": "external_account",
        "audience": audience,
        "subject_token_type": JWT_TYPE,
        "token_url": STS_URL,
        "credential_source": {"file": str(token_file)},
        "service_account_impersonation_url": IAM_CREDENTIALS_URL.format(email=service_account),
    }


def write_credentials(environ: Mapping[str, str], directory: Path) -> dict[str, str]:
    """Write the job's OIDC token and its credential file into `directory` (0600, outside every artifact
    path) for identity $PLATFORM_IDENTITY of environment $PLATFORM_ENV; returns the variables that point
    Terraform, gcloud and client libraries at it."""
    env = _required(environ, "PLATFORM_ENV", "the generated job sets it")
    identity = _required(environ, "PLATFORM_IDENTITY", "the generated job sets it")
    if identity not in IDENTITIES:
        raise IdentityError(f"PLATFORM_IDENTITY={identity!r}: expected one of {', '.join(IDENTITIES)}")
    origin = f"set it from the {env} bootstrap outputs: python -m ci gitlab-variables {env} (docs/ci-cd.md)"
    audience = _required(environ, variable(env, "workload_identity_audience"), origin)
    account = _required(environ, variable(env, f"{identity}_service_account"), origin)
    token = _required(environ, TOKEN_VARIABLE, "the job's id_tokens section defines it")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    token_file = directory / "gitlab-oidc-token"
    config_file = directory / "google-credentials.json"
    for path, text in ((token_file, token), (config_file, json.dumps(credential_config(audience, account, token_file)))):
        path.touch(mode=0o600)
        path.write_text(text, encoding="utf-8")
    return {
        "GOOGLE_APPLICATION_CREDENTIALS": str(config_file),
        "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": str(config_file),
    }


def access_token(config: Mapping, session: requests.Session | None = None) -> str:
    """An OAuth access token of the impersonated account (for `docker login` to Artifact Registry), by the
    same two exchanges the client libraries do: STS (OIDC → federated token), then generateAccessToken."""
    http = session or requests.Session()
    subject = Path(config["credential_source"]["file"]).read_text(encoding="utf-8").strip()
    sts = http.post(STS_URL, timeout=30, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "audience": config["audience"],
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "subject_token_type": config["subject_token_type"],
        "subject_token": subject,
    })
    sts.raise_for_status()
    federated = sts.json()["access_token"]
    generated = http.post(
        config["service_account_impersonation_url"], timeout=30,
        headers={"Authorization": f"Bearer {federated}"},
        json={"scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "3600s"},
    )
    generated.raise_for_status()
    return generated.json()["accessToken"]


def gitlab_variables(env: str, outputs: Mapping) -> dict[str, str]:
    """GitLab CI variable → value from `terraform output -json` of `<env>-bootstrap`."""
    missing = [name for name in BOOTSTRAP_OUTPUTS if name not in outputs]
    if missing:
        raise IdentityError(
            f"{env}-bootstrap has no output {missing[0]!r} (terraform output -json lists: "
            f"{', '.join(sorted(outputs)) or 'nothing'}); apply the bootstrap stack of this version first"
        )
    return {variable(env, name): str(outputs[name]["value"]) for name in BOOTSTRAP_OUTPUTS}


def job_environment(environ: Mapping[str, str], directory: Path) -> dict[str, str]:
    """The process environment for tools run by a job, with the credentials in place."""
    return {**os.environ, **environ, **write_credentials(environ, directory)}
