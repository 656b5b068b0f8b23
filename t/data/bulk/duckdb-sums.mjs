// The per-column sums of an export's files as DuckDB reads them (its own
// CSV and JSON readers, its own decompression): the figures sums.py and
// psql give.
// usage: node duckdb-sums.mjs csv|json header|noheader DELIMITER FILE...
import { DuckDBInstance } from '@duckdb/node-api';

const [fmt, header, delimiter, ...files] = process.argv.slice(2);
const columns = `{'id': 'BIGINT', 'tenant_id': 'VARCHAR', 'region': 'VARCHAR',
  'product_id': 'INTEGER', 'quantity': 'SMALLINT', 'amount': 'DECIMAL(12,2)',
  'discount': 'DOUBLE', 'returned': 'BOOLEAN', 'note': 'VARCHAR',
  'sale_date': 'DATE', 'sold_at': 'TIMESTAMPTZ'}`;
const list = '[' + files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')
             + ']';
const source = fmt === 'csv'
  ? `read_csv(${list}, header = ${header === 'header'}, columns = ${columns},
              delim = '${delimiter.replace(/'/g, "''")}', quote = '"',
              escape = '"', nullstr = '')`
  : `read_json(${list}, format = 'newline_delimited', columns = ${columns})`;

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
const reader = await con.runAndReadAll(`
  SELECT count(*)::VARCHAR AS rows, sum(id)::VARCHAR AS id,
         sum(product_id)::VARCHAR AS product_id,
         sum(quantity)::VARCHAR AS quantity,
         sum(amount * 100)::BIGINT::VARCHAR AS amount_cents,
         count(discount)::VARCHAR AS discount_n,
         coalesce(sum(round(discount * 100)), 0)::BIGINT::VARCHAR
           AS discount_centi,
         count(*) FILTER (WHERE returned)::VARCHAR AS returned,
         count(note)::VARCHAR AS note_n,
         coalesce(sum(length(note)), 0)::VARCHAR AS note_len,
         sum(length(region))::VARCHAR AS region_len,
         sum(sale_date - DATE '2025-01-01')::VARCHAR AS sale_days,
         sum(epoch(sold_at))::BIGINT::VARCHAR AS sold_at,
         (SELECT string_agg(t || '=' || n, ',' ORDER BY t) FROM
            (SELECT tenant_id AS t, count(*) AS n FROM ${source} GROUP BY 1))
           AS tenants
  FROM ${source}`);
const row = reader.getRowObjectsJson()[0];
const sorted = Object.fromEntries(Object.keys(row).sort()
                                  .map((k) => [k, row[k]]));
console.log(JSON.stringify(sorted));
