"""The one-time Cloud SQL grants (scripts/cloud_sql_grants.py): run twice against a real PostgreSQL that is
shaped like Cloud SQL (a non-superuser `postgres` in `cloudsqlsuperuser`, databases owned by that role,
IAM users as plain login roles), and the password handling of `--apply` with stand-ins for gcloud."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from scripts import cloud_sql_grants as grants
from stacks.databases import DATABASES

PREFIX, PROJECT = "acme-dev", "example-platform-dev"
USERS = grants.users_by_database(PREFIX, PROJECT)
API = f"{PREFIX}-api-server@{PROJECT}.iam"
TEMPORAL = f"{PREFIX}-temporal-server@{PROJECT}.iam"
# Plain PostgreSQL ships no pgaudit; Cloud SQL does. Everything else runs exactly as rendered.
LOCAL_EXTENSIONS = {db: tuple(e for e in exts if e != "pgaudit") for db, exts in grants.EXTENSIONS.items()}


def test_users_per_database_come_from_the_component_table():
    assert USERS == {
        "app": (API, f"{PREFIX}-backend@{PROJECT}.iam"),
        "temporal": (TEMPORAL,),
        "temporal_visibility": (TEMPORAL,),
    }


def test_every_database_gets_pgaudit_and_visibility_gets_btree_gin():
    sql = grants.render_sql(USERS)
    for database in DATABASES:
        block = sql.split(f'\\connect "{database}"')[1].split("\\connect")[0]
        assert 'CREATE EXTENSION IF NOT EXISTS "pgaudit";' in block
        assert ('CREATE EXTENSION IF NOT EXISTS "btree_gin";' in block) == (database == "temporal_visibility")
    assert "password" not in sql.lower()


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL on a Unix socket; yields a function running psql as a given role."""
    binaries = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
    root = Path(tempfile.mkdtemp(prefix="cloud-sql-grants-"))
    # PostgreSQL refuses to run as root: run the server as `nobody` when the suite runs as root.
    as_server = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if as_server:
        shutil.chown(root, "nobody")
    data = root / "data"
    subprocess.run([*as_server, str(binaries / "initdb"), "-U", "admin", "-A", "trust", "-D", str(data)], check=True, capture_output=True)
    subprocess.run(
        [*as_server, str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
         "-o", f"-k {root} -c listen_addresses='' -p 5499", "start"],
        check=True, capture_output=True,
    )

    def psql(role, sql, database="postgres"):
        return subprocess.run(
            ["psql", "-X", "-q", "-h", str(root), "-p", "5499", "-U", role, "-d", database, "-v", "ON_ERROR_STOP=1", "-f", "-"],
            input=sql, text=True, capture_output=True,
        )

    setup = [
        "CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB;",
        "CREATE ROLE postgres LOGIN CREATEROLE CREATEDB IN ROLE cloudsqlsuperuser;",
        *(f'CREATE DATABASE "{db}" OWNER cloudsqlsuperuser;' for db in DATABASES),
        *(f'CREATE ROLE "{user}" LOGIN;' for user in sorted({u for users in USERS.values() for u in users})),
    ]
    result = psql("admin", "\n".join(setup))
    assert result.returncode == 0, result.stderr
    yield psql
    subprocess.run([*as_server, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def granted(postgres):
    sql = grants.render_sql(USERS, LOCAL_EXTENSIONS)
    runs = [postgres("postgres", sql) for _ in range(2)]
    return postgres, runs


def test_the_grants_run_as_cloud_sqls_postgres_user_and_are_idempotent(granted):
    _, runs = granted
    for result in runs:
        assert result.returncode == 0, result.stderr


def test_a_workload_creates_tables_in_its_own_database(granted):
    psql, _ = granted
    result = psql(API, "CREATE TABLE api_owned (id int); SET ROLE app_owner; CREATE TABLE shared (id int);", "app")
    assert result.returncode == 0, result.stderr


def test_a_workload_cannot_reach_another_components_database(granted):
    psql, _ = granted
    result = psql(API, "SELECT 1;", "temporal")
    assert result.returncode != 0 and "permission denied" in result.stderr


def test_temporals_visibility_schema_can_use_btree_gin(granted):
    psql, _ = granted
    sql = "CREATE TABLE executions (namespace_id text, start_time bigint); CREATE INDEX by_ns ON executions USING gin (namespace_id, start_time);"
    result = psql(TEMPORAL, sql, "temporal_visibility")
    assert result.returncode == 0, result.stderr


class Recorder:
    def __init__(self, fail_psql=False):
        self.calls, self.fail_psql = [], fail_psql

    def run(self, command, **kwargs):
        self.calls.append((command, kwargs))
        if command[0] == "psql" and self.fail_psql:
            raise subprocess.CalledProcessError(3, command)
        return subprocess.CompletedProcess(command, 0)

    def start(self, command):
        self.calls.append((command, {}))
        return type("Proxy", (), {"terminate": lambda self: None})()

    def passwords(self):
        return [arg.split("=", 1)[1] for command, _ in self.calls for arg in command if arg.startswith("--password=")]


@pytest.mark.parametrize("fail_psql", [False, True])
def test_apply_uses_a_fresh_password_once_and_always_discards_it(fail_psql, capsys):
    recorder = Recorder(fail_psql=fail_psql)
    call = lambda: grants.apply(  # noqa: E731
        "SELECT 1;", instance="acme-dev-postgres", connection_name="p:r:acme-dev-postgres", project_id="p",
        run=recorder.run, start=recorder.start, wait_seconds=0,
    )
    if fail_psql:
        with pytest.raises(subprocess.CalledProcessError):
            call()
    else:
        call()
    used, discarded = recorder.passwords()
    assert used != discarded and len(used) >= 32 and len(discarded) >= 32
    psql_env = next(kwargs["env"] for command, kwargs in recorder.calls if command[0] == "psql")
    assert psql_env["PGPASSWORD"] == used
    proxy = next(command for command, _ in recorder.calls if command[0] == "cloud-sql-proxy")
    assert proxy == ["cloud-sql-proxy", "--private-ip", f"--port={grants.PROXY_PORT}", "p:r:acme-dev-postgres"]
    assert recorder.calls[-1][0][:4] == ["gcloud", "sql", "users", "set-password"], "the password is replaced last"
    output = capsys.readouterr()
    assert used not in output.out + output.err and discarded not in output.out + output.err


def test_print_shows_the_sql_for_review(capsys):
    assert grants.main(["--env", "dev", "--print"]) == 0
    out = capsys.readouterr().out
    assert out == grants.render_sql(USERS)


def test_an_unknown_environment_is_one_clear_message(capsys):
    assert grants.main(["--env", "qa", "--print"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'qa' not found" in err[0]
