#!/bin/sh
# First start of an empty Postgres volume (the postgres image runs
# /docker-entrypoint-initdb.d/*.sh once, as the superuser, before it accepts TCP
# connections): create the role session-store connects as, with no superuser, no
# CREATEDB and no CREATEROLE, and make it the owner of the nexus database, which lets it
# create its tables (Postgres 15+: the database owner owns the public schema's rights).
#
# Its password is SESSION_STORE_DB_PASSWORD. Postgres keeps it in the volume: changing
# .env later changes nothing here; see deploy/README.md ("Secrets") for the way out.
# deploy/compose-test/ runs this same script against the CI's Postgres.
set -eu

# Mounted at /nexus/ in compose; two folders up in the repository.
checks=/nexus/refuse-dev-secrets.sh
[ -f "$checks" ] || checks="$(dirname "$0")/../../refuse-dev-secrets.sh"
# shellcheck source=../../refuse-dev-secrets.sh
. "$checks"
refuse_dev_secrets POSTGRES_PASSWORD SESSION_STORE_DB_PASSWORD

: "${SESSION_STORE_DB_PASSWORD:?SESSION_STORE_DB_PASSWORD is not set}"
role="${SESSION_STORE_DB_ROLE:-nexus_store}"
database="${POSTGRES_DB:-nexus}"

psql -v ON_ERROR_STOP=1 -X -q --username "${POSTGRES_USER:-postgres}" --dbname "$database" \
    -v role="$role" -v password="$SESSION_STORE_DB_PASSWORD" -v database="$database" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')
\gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
ALTER DATABASE :"database" OWNER TO :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"role";
SQL
echo "nexus: role $role owns database $database"
