// Reads Parquet files with one of two independent readers from npm and
// prints every row as canonical text, one line per row, values between
// tabs, so that the suites compare them with what PostgreSQL prints for
// the same rows (t/data/parquet/lib/SpectraParquet.pm builds that query):
//
//   NULL      \N              boolean   t / f
//   integers  decimal         real      the 4 bytes, hex (float4send)
//   double    the 8 bytes, hex (float8send)
//   decimal   exact, with its scale's digits ("-1.50")
//   string    its UTF-8 bytes, hex      bytea   its bytes, hex
//   date      days since 1970-01-01    uuid    8-4-4-4-12 lowercase hex
//   timestamp, timestamptz   microseconds since 1970-01-01 00:00 (UTC)
//
// First line: the columns as "name:TYPE" (hyparquet: the Parquet schema's
// physical type and annotation; duckdb: DuckDB's type), tab-separated.
//
//   node canon.mjs hyparquet|duckdb FILE...
import { readFileSync } from 'node:fs';

const [reader, ...files] = process.argv.slice(2);
const out = [];

function hex(bytes) {
  return Buffer.from(bytes).toString('hex');
}

function bits(v, size) {
  const b = Buffer.alloc(size);
  if (size === 4) b.writeFloatBE(v); else b.writeDoubleBE(v);
  return b.toString('hex');
}

function decimal(unscaled, scale) {
  const neg = unscaled < 0n;
  let s = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  if (scale > 0) s = s.slice(0, s.length - scale) + '.' + s.slice(-scale);
  return (neg ? '-' : '') + s;
}

// two's complement, big endian
function beInt(bytes) {
  let v = 0n;
  for (const b of bytes) v = v * 256n + BigInt(b);
  if (bytes.length && bytes[0] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v;
}

function uuid(h) {
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-`
    + `${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function line(values) {
  out.push(values.map((v) => (v === null ? '\\N' : v)).join('\t'));
}

async function viaHyparquet() {
  const { parquetMetadata, parquetRead } = await import('hyparquet');
  let header = null;
  for (const file of files) {
    const buf = readFileSync(file);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
    const meta = parquetMetadata(ab);
    const cols = meta.schema.slice(1);
    const kinds = cols.map((c) => {
      const lt = c.logical_type ? c.logical_type.type : c.converted_type;
      return { name: c.name, type: c.type, lt, scale: c.scale || 0,
               text: `${c.name}:${c.type}${lt ? '/' + lt : ''}`
                     + (lt === 'DECIMAL' ? `(${c.precision},${c.scale})`
                       : '')
                     + (lt === 'INTEGER' ? `(${c.logical_type.bitWidth},`
                       + `${c.logical_type.isSigned ? 'signed' : 'unsigned'})`
                       : '')
                     + (lt === 'TIMESTAMP'
                       ? `(${c.logical_type.isAdjustedToUTC ? 'UTC' : 'local'},`
                         + `${c.logical_type.unit})` : '') };
    });
    const h = kinds.map((k) => k.text).join('\t');
    if (header === null) { header = h; out.push(h); }
    else if (h !== header) throw new Error(`${file}: another schema: ${h}`);
    // decimals undecorated: hyparquet would make them lossy Numbers
    for (const c of cols) {
      if (c.converted_type === 'DECIMAL') {
        delete c.converted_type;
        delete c.logical_type;
      }
    }
    await parquetRead({
      file: ab, metadata: meta, utf8: false,
      parsers: {
        timestampFromMicroseconds: (v) => v,
        timestampFromMilliseconds: (v) => { throw new Error(`millis ${v}`); },
        timestampFromNanoseconds: (v) => { throw new Error(`nanos ${v}`); },
        dateFromDays: (v) => v,
        stringFromBytes: (b) => b,
        uuidFromBytes: (b) => b,
        jsonFromBytes: (b) => b,
      },
      onComplete: (rows) => {
        for (const row of rows) {
          line(row.map((v, i) => {
            const k = kinds[i];
            if (v === null || v === undefined) return null;
            switch (k.type) {
              case 'BOOLEAN': return v ? 't' : 'f';
              case 'FLOAT': return bits(v, 4);
              case 'DOUBLE': return bits(v, 8);
              default: break;
            }
            if (k.lt === 'DECIMAL') {
              return decimal(v instanceof Uint8Array ? beInt(v) : BigInt(v),
                             k.scale);
            }
            if (k.lt === 'UUID') return uuid(hex(v));
            if (v instanceof Uint8Array) return hex(v);
            return String(v);
          }));
        }
      },
    });
  }
}

async function viaDuckdb() {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
  const r = await conn.runAndReadAll(
    `select * from read_parquet([${list}], hive_partitioning = false)`);
  const types = r.columnTypes().map((t) => t.toString());
  out.push(r.columnNames().map((n, i) => `${n}:${types[i]}`).join('\t'));
  const text = new TextEncoder();
  for (const row of r.getRows()) {
    line(row.map((v, i) => {
      const t = types[i];
      if (v === null) return null;
      if (t === 'BOOLEAN') return v ? 't' : 'f';
      if (t === 'FLOAT') return bits(v, 4);
      if (t === 'DOUBLE') return bits(v, 8);
      if (t.startsWith('DECIMAL')) return decimal(v.value, v.scale);
      if (t === 'VARCHAR') return hex(text.encode(v));
      if (t === 'BLOB') return hex(v.bytes);
      if (t === 'DATE') return String(v.days);
      if (t.startsWith('TIMESTAMP')) return String(v.micros);
      if (t === 'UUID') return v.toString();
      return String(v);
    }));
  }
}

if (reader === 'hyparquet') await viaHyparquet();
else if (reader === 'duckdb') await viaDuckdb();
else throw new Error('usage: canon.mjs hyparquet|duckdb FILE...');

process.stdout.write(out.join('\n') + '\n');
