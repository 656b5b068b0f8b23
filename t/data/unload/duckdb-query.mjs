// Runs one SQL statement in an in-memory DuckDB (npm @duckdb/node-api)
// and prints its rows as JSON: t/035-dataapi-unload.t reads UNLOAD's
// files with it (CSV and JSON lines, gzip and zstd by their extension).
import { DuckDBInstance } from '@duckdb/node-api';

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const reader = await conn.runAndReadAll(process.argv[2]);
process.stdout.write(JSON.stringify(reader.getRowObjectsJson()));
