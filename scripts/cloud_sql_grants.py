"""The one-time privileged step on the Cloud SQL instance (docs/data.md, "One-time grants").

Terraform creates the instance, the databases and the IAM database users, but a new IAM user holds no
privilege inside PostgreSQL, and Temporal's visibility schema needs the `btree_gin` extension. Granting
needs a member of `cloudsqlsuperuser`, i.e. the built-in `postgres` user, which Terraform never gives a
password (none may sit in state). This script:

1. renders the grants from the component table (`--print` shows exactly what runs, for review);
2. with `--apply`: sets a random `postgres` password generated in memory here, starts the Cloud SQL Auth
   Proxy (`--private-ip`, the operator's own gcloud credentials), runs the SQL with `psql`, and, whatever
   happened, sets the password again to a new random value that is never shown or stored (discarded).

Every statement is idempotent: running it twice changes nothing, so it is also how a new component's
grants are applied. Per database `<db>`: a NOLOGIN role `<db>_owner` holds CONNECT/CREATE/TEMPORARY on the
database and USAGE/CREATE on its `public` schema; the IAM users of the components that use `<db>` are its
members; PUBLIC loses CONNECT, so a workload reaches its own databases only.

Usage: python scripts/cloud_sql_grants.py --env dev --print
       python scripts/cloud_sql_grants.py --env dev --apply   # from a host with a route to the PSA range
"""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stacks.components import database_components  # noqa: E402
from stacks.databases import DATABASES, TEMPORAL_VISIBILITY_DATABASE, iam_user_name  # noqa: E402
from stacks.naming import DeliveryNames, service_account_email  # noqa: E402

ADMIN_USER = "postgres"
PROXY_PORT = 15432
# Extensions per database: Temporal's Postgres visibility schema indexes with GIN over scalar columns;
# pgaudit in every database, so the `cloudsql.enable_pgaudit` flag also classifies DDL (its event triggers).
EXTENSIONS: Mapping[str, tuple[str, ...]] = {
    database: ("pgaudit",) + (("btree_gin",) if database == TEMPORAL_VISIBILITY_DATABASE else ()) for database in DATABASES
}


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def users_by_database(prefix: str, project_id: str) -> dict[str, tuple[str, ...]]:
    """Database → the IAM users of the components that use it (stacks/components.py)."""
    users = {
        component.name: iam_user_name(service_account_email(prefix, component.name, project_id))
        for component in database_components()
    }
    return {
        database: tuple(users[c.name] for c in database_components() if database in c.databases) for database in DATABASES
    }


def render_sql(users: Mapping[str, Sequence[str]], extensions: Mapping[str, Sequence[str]] = EXTENSIONS) -> str:
    """psql script: one block per database, each statement idempotent."""
    lines = ["\\set ON_ERROR_STOP on"]
    for database, members in users.items():
        db, owner = quote_identifier(database), f"{database}_owner"
        lines += [
            "",
            f"\\connect {db}",
            *(f"CREATE EXTENSION IF NOT EXISTS {quote_identifier(ext)};" for ext in extensions.get(database, ())),
            "DO $$ BEGIN",
            f"  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {quote_literal(owner)}) THEN",
            f"    CREATE ROLE {quote_identifier(owner)} NOLOGIN;",
            "  END IF;",
            "END $$;",
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC;",
            f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {db} TO {quote_identifier(owner)};",
            f"GRANT USAGE, CREATE ON SCHEMA public TO {quote_identifier(owner)};",
            *(f"GRANT {quote_identifier(owner)} TO {quote_identifier(member)};" for member in members),
        ]
    return "\n".join(lines) + "\n"


Runner = Callable[..., subprocess.CompletedProcess]


def set_password(run: Runner, instance: str, project_id: str, password: str) -> None:
    run(
        ["gcloud", "sql", "users", "set-password", ADMIN_USER, f"--instance={instance}", f"--project={project_id}",
         f"--password={password}", "--quiet"],
        check=True, capture_output=True,
    )


def apply(sql: str, *, instance: str, connection_name: str, project_id: str, run: Runner = subprocess.run,
          start: Callable[..., subprocess.Popen] = subprocess.Popen, wait_seconds: float = 3.0) -> None:
    """Run `sql` as `postgres` with a password that exists only for this call."""
    password = secrets.token_urlsafe(32)
    set_password(run, instance, project_id, password)
    proxy = None
    try:
        proxy = start(["cloud-sql-proxy", "--private-ip", f"--port={PROXY_PORT}", connection_name])
        time.sleep(wait_seconds)
        run(
            ["psql", f"host=127.0.0.1 port={PROXY_PORT} dbname=postgres user={ADMIN_USER} sslmode=disable", "-f", "-"],
            input=sql, text=True, check=True, env={**os.environ, "PGPASSWORD": password},
        )
    finally:
        if proxy is not None:
            proxy.terminate()
        # Discard: a second random value, never printed or stored, replaces the one psql used.
        set_password(run, instance, project_id, secrets.token_urlsafe(32))


def main(argv: Sequence[str] | None = None) -> int:
    from stacks.config import ConfigError, load_configs

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="environment name (config/<env>.yaml)")
    parser.add_argument("--config-dir", type=Path, default=Path(__file__).resolve().parent.parent / "config")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--print", action="store_true", help="print the SQL for review")
    mode.add_argument("--apply", action="store_true", help="run it through the Cloud SQL Auth Proxy")
    args = parser.parse_args(argv)
    try:
        (env,) = load_configs(args.config_dir, only=(args.env,))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    sql = render_sql(users_by_database(env.prefix, env.project_id))
    if args.print:
        sys.stdout.write(sql)
        return 0
    names = DeliveryNames.of(env)
    apply(sql, instance=names.sql_instance_name, connection_name=names.sql_connection_name, project_id=env.project_id)
    print(f"grants applied on {names.sql_instance_name}; the postgres password was replaced by a discarded random value")
    return 0


if __name__ == "__main__":
    sys.exit(main())
