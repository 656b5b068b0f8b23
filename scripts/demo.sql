-- The demo warehouse: three tenants sharing one RLS-protected fact table.
-- Loaded by scripts/pg.sh into database "warehouse" as the superuser.
-- Row split 600,000 / 300,000 / 100,000 is uneven on purpose: a leak shows.
--
-- Tenant isolation is the database's: every tenant statement runs in a
-- session logged in AS the tenant's role (spectra-dataapi connects as it),
-- and no role that runs tenant SQL is a member of any other role, so no
-- SQL can become another tenant. docs/hardening.md explains each part.

\set ON_ERROR_STOP on

-- Owns the tables; never logs in.
CREATE ROLE spectra_owner NOLOGIN;

-- One login role per tenant, members of nothing (in PostgreSQL 15 any
-- membership allows SET ROLE). Their passwords come from the secrets file
-- or are minted by spectra_admin.get_cluster_credentials() below. The
-- limits are the DBA's, per role: statement_timeout bounds a statement
-- (spectra-dataapi keeps the lower of it and its own), temp_file_limit is
-- superuser-only, so the tenant cannot lift it, and CONNECTION LIMIT bounds
-- its backends (keep it above --pool-per-user plus --max-sessions-per-user
-- of every daemon that logs in as the role).
CREATE ROLE tenant_acme LOGIN CONNECTION LIMIT 24;
CREATE ROLE tenant_globex LOGIN CONNECTION LIMIT 24;
CREATE ROLE tenant_initech LOGIN CONNECTION LIMIT 24;

ALTER ROLE tenant_acme SET statement_timeout = '15min';
ALTER ROLE tenant_acme SET temp_file_limit = '1GB';
ALTER ROLE tenant_acme SET work_mem = '16MB';
ALTER ROLE tenant_globex SET statement_timeout = '15min';
ALTER ROLE tenant_globex SET temp_file_limit = '1GB';
ALTER ROLE tenant_globex SET work_mem = '16MB';
ALTER ROLE tenant_initech SET statement_timeout = '15min';
ALTER ROLE tenant_initech SET temp_file_limit = '1GB';
ALTER ROLE tenant_initech SET work_mem = '16MB';

-- spectra-dataapi's own login: it only checks db users and mints their
-- passwords; it is a member of no role, owns nothing, may read no table
-- and never runs tenant SQL. Its password is set by the fixture scripts.
CREATE ROLE spectra_dataapi LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
    NOINHERIT CONNECTION LIMIT 8;

-- Owns the minting function: CREATEROLE (to set tenant passwords), never
-- logs in, has no members.
CREATE ROLE spectra_credentials NOLOGIN NOINHERIT CREATEROLE;

-- CONNECT only: no TEMPORARY. A temporary table's rows are not temporary
-- files, so temp_file_limit does not bound them (a 2 GB CREATE TEMP TABLE
-- passes a 1 GB limit), and tenants reach the warehouse only through
-- Spectra's read-only SQL policy, which never needs one.
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;
GRANT CONNECT ON DATABASE warehouse
    TO tenant_acme, tenant_globex, tenant_initech;
GRANT CONNECT ON DATABASE warehouse TO spectra_dataapi;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tenant_acme, tenant_globex, tenant_initech;

-- GetClusterCredentials for PostgreSQL: a temporary password for an
-- ordinary tenant role, valid for duration_seconds (900 to 3600, as AWS).
-- The function refuses anything else itself, whatever its caller checked.
CREATE SCHEMA spectra_admin;
REVOKE ALL ON SCHEMA spectra_admin FROM PUBLIC;
GRANT USAGE ON SCHEMA spectra_admin TO spectra_dataapi;

CREATE FUNCTION spectra_admin.get_cluster_credentials(
    db_user name, duration_seconds integer)
RETURNS TABLE (password text, expiration timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r       record;
    pw      text;
    expires timestamptz;
BEGIN
    IF duration_seconds IS NULL OR duration_seconds < 900
       OR duration_seconds > 3600 THEN
        RAISE EXCEPTION 'duration_seconds must be from 900 to 3600'
            USING ERRCODE = '22023';
    END IF;

    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = db_user;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'db user "%" does not exist', db_user
            USING ERRCODE = '28000';
    END IF;

    IF r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb
       OR r.rolreplication OR NOT r.rolcanlogin
       OR db_user LIKE 'pg\_%'
       OR db_user IN (session_user, current_user, 'spectra_dataapi',
                      'spectra_credentials', 'spectra_owner')
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                  WHERE m.member = r.oid)
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                  WHERE c.relowner = r.oid AND c.relpersistence <> 't')
    THEN
        RAISE EXCEPTION 'db user "%" is not an ordinary tenant role',
            db_user USING ERRCODE = '42501';
    END IF;

    -- 244 random bits from the server's strong random source
    pw := replace(gen_random_uuid()::text || gen_random_uuid()::text,
                  '-', '');
    expires := clock_timestamp() + make_interval(secs => duration_seconds);

    BEGIN
        EXECUTE format('ALTER ROLE %I PASSWORD %L VALID UNTIL %L',
                       db_user, pw, expires);
    EXCEPTION WHEN OTHERS THEN
        -- a new error without the failed statement (and its password)
        -- as context, so that no log line carries the password
        RAISE EXCEPTION 'could not set the password of db user "%"',
            db_user USING ERRCODE = '42501';
    END;

    RETURN QUERY SELECT pw, expires;
END
$fn$;

ALTER FUNCTION spectra_admin.get_cluster_credentials(name, integer)
    OWNER TO spectra_credentials;
REVOKE ALL ON FUNCTION spectra_admin.get_cluster_credentials(name, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    spectra_admin.get_cluster_credentials(name, integer) TO spectra_dataapi;

-- Functions with side effects or that show other sessions, other tenants'
-- data volumes or the cluster's state: nobody but the superuser. What stays
-- PUBLIC and why is in docs/hardening.md (set_config and current_setting:
-- SET and SHOW do the same and cannot be revoked; pg_advisory_unlock_all:
-- the daemon's reset between statements calls it).
DO $revoke$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
          AND (p.proname IN ('pg_sleep', 'pg_sleep_for', 'pg_sleep_until',
                             'pg_logical_emit_message', 'pg_notify',
                             'pg_terminate_backend', 'pg_cancel_backend',
                             'pg_blocking_pids',
                             'pg_safe_snapshot_blocking_pids',
                             'pg_lock_status', 'pg_prepared_xact',
                             'pg_database_size', 'pg_tablespace_size',
                             'pg_relation_size', 'pg_total_relation_size',
                             'pg_table_size', 'pg_indexes_size',
                             'loread', 'lowrite')
               OR p.proname LIKE 'lo\_%'
               OR p.proname LIKE 'pg\_stat\_%'
               OR (p.proname LIKE '%advisory%'
                   AND p.proname <> 'pg_advisory_unlock_all'))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$revoke$;

GRANT CREATE, USAGE ON SCHEMA public TO spectra_owner;
SET ROLE spectra_owner;

-- Shared dimension table: every tenant may read all of it.
CREATE TABLE regions (
    region      text PRIMARY KEY,
    name        text NOT NULL,
    currency    char(3) NOT NULL,
    vat_rate    numeric(5, 4) NOT NULL
);

INSERT INTO regions VALUES
    ('emea', 'Europe, Middle East and Africa', 'EUR', 0.2000),
    ('amer', 'Americas', 'USD', 0.0725),
    ('apac', 'Asia Pacific', 'JPY', 0.1000),
    ('latam', 'Latin America', 'BRL', 0.1700);

CREATE TABLE sales (
    id          bigint NOT NULL,
    tenant_id   text NOT NULL,
    region      text NOT NULL,
    product_id  integer NOT NULL,
    quantity    smallint NOT NULL,
    amount      numeric(12, 2) NOT NULL,
    discount    double precision,
    returned    boolean NOT NULL,
    note        text,
    sale_date   date NOT NULL,
    sold_at     timestamptz NOT NULL
);

-- Tenant by id % 10: 0-5 acme, 6-8 globex, 9 initech.
INSERT INTO sales
SELECT i,
       CASE WHEN i % 10 < 6 THEN 'acme'
            WHEN i % 10 < 9 THEN 'globex'
            ELSE 'initech' END,
       (ARRAY['emea', 'amer', 'apac', 'latam'])[(1 + (i / 10) % 4)::int],
       (1 + (i * 7919) % 500)::integer,
       (1 + i % 20)::smallint,
       ((i * 37) % 100000) / 100.0 + 1,
       CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 30) / 100.0 END,
       i % 13 = 0,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'order ' || i END,
       date '2025-01-01' + (i % 365)::integer,
       timestamptz '2025-01-01 00:00:00+00' + (i % 31536000) * interval '1 s'
FROM generate_series(1::bigint, 1000000) AS i;

-- Constraints and indexes after the load: much faster than row by row.
ALTER TABLE sales ADD PRIMARY KEY (id),
    ADD FOREIGN KEY (region) REFERENCES regions;
CREATE INDEX sales_tenant_idx ON sales (tenant_id);

ALTER TABLE sales ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales FORCE ROW LEVEL SECURITY;

-- A tenant role sees its own rows only; the sub-select runs once per
-- statement, so the tenant index stays usable.
CREATE POLICY tenant_isolation ON sales FOR SELECT
    USING (tenant_id = (SELECT substr(current_user::text, 8)
                        WHERE current_user::text LIKE 'tenant\_%'));

-- Granted to each tenant role itself: no group role to be a member of.
GRANT SELECT ON regions, sales TO tenant_acme, tenant_globex, tenant_initech;

RESET ROLE;
VACUUM ANALYZE regions;
VACUUM ANALYZE sales;

-- Imports: a table tenants load with COPY (through spectra-dataapi, as
-- their own role). WITH CHECK: a tenant inserts only rows of its own
-- tenant_id (the identity of the sales policy), and reads back only its
-- own. No UPDATE or DELETE: an import only adds rows.
SET ROLE spectra_owner;

CREATE TABLE events (
    tenant_id   text,
    id          bigint,
    kind        text,
    occurred_at timestamptz,
    amount      numeric
);

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_read ON events FOR SELECT
    USING (tenant_id = (SELECT substr(current_user::text, 8)
                        WHERE current_user::text LIKE 'tenant\_%'));

CREATE POLICY tenant_insert ON events FOR INSERT
    WITH CHECK (tenant_id = (SELECT substr(current_user::text, 8)
                             WHERE current_user::text LIKE 'tenant\_%'));

GRANT SELECT, INSERT ON events TO tenant_acme, tenant_globex, tenant_initech;

RESET ROLE;

-- Load errors, as Redshift's sys_load_error_detail: one row per rejected
-- record of a COPY (and the record that failed it). spectra-dataapi
-- writes them through its own login (another session: they outlive the
-- COPY's rollback) with the function below, which is all that login may
-- do with them; a tenant reads its own rows only, through the view.
CREATE SCHEMA spectra_load AUTHORIZATION spectra_owner;
REVOKE ALL ON SCHEMA spectra_load FROM PUBLIC;

SET ROLE spectra_owner;

CREATE TABLE spectra_load.load_errors (
    query_id        text NOT NULL,
    user_name       name NOT NULL,
    file_name       text NOT NULL,
    line_number     bigint NOT NULL,
    column_name     text NOT NULL,
    error_code      text NOT NULL,
    error_message   text NOT NULL,
    raw_line        text NOT NULL,
    start_time      timestamptz NOT NULL
);

CREATE INDEX load_errors_user_file_idx
    ON spectra_load.load_errors (user_name, file_name);

-- Each element of errors: {"line_number", "column_name", "error_code",
-- "error_message", "raw_line"}; user_name is the COPY's db user.
CREATE FUNCTION spectra_load.record_errors(
    db_user name, query_id text, file_name text, start_time timestamptz,
    errors json)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH ins AS (
        INSERT INTO spectra_load.load_errors
        SELECT query_id, db_user, file_name, e.line_number,
               coalesce(e.column_name, ''), coalesce(e.error_code, ''),
               coalesce(e.error_message, ''), coalesce(e.raw_line, ''),
               start_time
        FROM json_to_recordset(errors) AS e(line_number bigint,
            column_name text, error_code text, error_message text,
            raw_line text)
        RETURNING 1)
    SELECT count(*) FROM ins
$fn$;

REVOKE ALL ON FUNCTION
    spectra_load.record_errors(name, text, text, timestamptz, json)
    FROM PUBLIC;

CREATE VIEW public.sys_load_error_detail WITH (security_barrier) AS
    SELECT query_id, user_name, file_name, line_number, column_name,
           error_code, error_message, raw_line, start_time
    FROM spectra_load.load_errors
    WHERE user_name = current_user;

GRANT SELECT ON public.sys_load_error_detail
    TO tenant_acme, tenant_globex, tenant_initech;

RESET ROLE;

GRANT USAGE ON SCHEMA spectra_load TO spectra_dataapi;
GRANT EXECUTE ON FUNCTION
    spectra_load.record_errors(name, text, text, timestamptz, json)
    TO spectra_dataapi;
