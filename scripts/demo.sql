-- The demo warehouse: three tenants sharing one RLS-protected fact table.
-- Loaded by scripts/pg.sh into database "warehouse" as the superuser.
-- Row split 600,000 / 300,000 / 100,000 is uneven on purpose: a leak shows.

\set ON_ERROR_STOP on

CREATE ROLE spectra_owner NOLOGIN;
CREATE ROLE spectra_tenants NOLOGIN;
CREATE ROLE tenant_acme NOLOGIN IN ROLE spectra_tenants;
CREATE ROLE tenant_globex NOLOGIN IN ROLE spectra_tenants;
CREATE ROLE tenant_initech NOLOGIN IN ROLE spectra_tenants;

-- spectra-dataapi logs in as this role and switches to the tenant's role
-- for each statement, so it must be a member of every tenant role; it is no
-- superuser and owns nothing, so RLS applies to everything it runs.
CREATE ROLE spectra_dataapi LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
GRANT tenant_acme, tenant_globex, tenant_initech TO spectra_dataapi;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO spectra_tenants;

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

GRANT SELECT ON regions, sales TO spectra_tenants;

RESET ROLE;
VACUUM ANALYZE regions;
VACUUM ANALYZE sales;
