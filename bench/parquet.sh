#!/usr/bin/env bash
# Parquet write throughput: the 1,000,000-row sales export (a demo
# tenant's rows, as bench/bulk.sh reads them) written by spectra-dataapi's
# UNLOAD ... FORMAT PARQUET (SNAPPY pages, 64 MiB row groups), next to
# DuckDB (npm @duckdb/node-api) writing the same rows to Parquet with the
# same codec from the same CSV, which the same daemon UNLOADs first, in
# the same run. Prints rows/s and MB/s of each, the time ratio, the file
# size ratio, and spectra-dataapi's peak RSS growth; both files are read
# back by DuckDB and must hold the same rows (count and sums).
#
#   bench/parquet.sh [BUILD_DIR]        (default $BUILD, else build/)
#
# The UNLOAD times are the Data API's own Duration of each statement (the
# query on PostgreSQL, the values parsed, the file written); DuckDB's are
# timed in its process around COPY (CSV parsed, Parquet written), once
# with one thread (as the UNLOAD writes) and once with its default.
# Benchmarks are not tests: the figures go to
# bench/results/parquet-latest.txt.
#
# Environment:
#   BENCH_PORT_BASE     first of the loopback ports (default 22480):
#                       PostgreSQL, spectra-dataapi (base, base+1)
#   BENCH_BULK_ROWS     rows (default 1000000)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/../scripts/env.sh"

if [ $# -gt 0 ]; then
    build=$(cd "$1" && pwd)
fi

base=${BENCH_PORT_BASE:-22480}
pg_port=$base
api_port=$((base + 1))
rows=${BENCH_BULK_ROWS:-1000000}
state=/tmp/spectra-bench-parquet-$base
results=$repo/bench/results/parquet-latest.txt
bucket=spectra-exports

case $rows in
'' | *[!0-9]*)
    echo "parquet.sh: BENCH_BULK_ROWS must be a number" >&2
    exit 2
    ;;
esac

for tool in psql jq node /usr/bin/aws; do
    if ! command -v "$tool" > /dev/null; then
        echo "parquet.sh: $tool is missing (scripts/deps.sh)" >&2
        exit 1
    fi
done

if [ ! -x "$build/spectra-dataapi" ]; then
    echo "parquet.sh: $build has no spectra-dataapi (make -s)" >&2
    exit 1
fi

say() {
    echo "parquet.sh: $*" >&2
}

cleanup() {
    set +e
    bash "$repo/scripts/dataapi.sh" stop "$state" 2> /dev/null
    bash "$repo/scripts/pg.sh" stop "$state/pg" 2> /dev/null
    rm -rf "$state/objects" "$state/duckdb"
}
trap cleanup EXIT

for port in "$pg_port" "$api_port"; do
    if ! port_free "$port"; then
        echo "parquet.sh: port $port is in use (BENCH_PORT_BASE)" >&2
        exit 1
    fi
done

rm -rf "$state"
mkdir -p "$state/duckdb"
chmod 755 "$state"

say "starting PostgreSQL on 127.0.0.1:$pg_port, loading the demo"
bash "$repo/scripts/pg.sh" start "$state/pg" "$pg_port"
bash "$repo/scripts/pg.sh" demo "$state/pg" "$pg_port"
bash "$repo/scripts/demo-credentials.sh" "$state/pg" "$pg_port" \
    "$state/dataapi"

say "starting spectra-dataapi on 127.0.0.1:$api_port"
bash "$repo/scripts/dataapi.sh" start "$build" "$state" "$api_port" \
    "$pg_port"
dataapi_pid=$(cat "$state/dataapi/pid")
read -r access_key secret_key \
    < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)

data_api() {
    AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        AWS_PAGER='' /usr/bin/aws redshift-data "$@" \
        --endpoint-url "http://127.0.0.1:$api_port" --region us-east-1 \
        --output json
}

# unload NAME OPTIONS: the rows UNLOADed to s3://bucket/NAME/ as
# tenant_acme (the query's quotes escaped in UNLOAD's literal); prints the
# statement's Duration in seconds
unload() {
    local id d status i
    id=$(data_api execute-statement --cluster-identifier demo \
         --database warehouse --db-user tenant_acme \
         --sql "UNLOAD ('${sql//\'/\\\'}') TO 's3://$bucket/$1/' IAM_ROLE default $2" \
         | jq -r .Id)
    for ((i = 0; ; i++)); do
        d=$(data_api describe-statement --id "$id")
        status=$(jq -r .Status <<< "$d")
        case $status in
        SUBMITTED | PICKED | STARTED) ;;
        *) break ;;
        esac
        if ((i > 6000)); then
            echo "parquet.sh: $id still $status after 10 minutes" >&2
            return 1
        fi
        sleep 0.1
    done
    if [ "$status" != FINISHED ]; then
        echo "parquet.sh: UNLOAD $1 is $status: $(jq -r .Error <<< "$d")" >&2
        return 1
    fi
    jq -r '.Duration / 1e9 * 1000 | round / 1000' <<< "$d"
}

status_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# cpu_s PID: the process's user + system CPU seconds so far (a measure
# that the other jobs of a shared machine disturb less than time)
tck=$(getconf CLK_TCK)
cpu_s() {
    awk -v t="$tck" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"
}

# acme's sales (600,000 rows) and again its first ones up to ROWS, the
# same rows every time (tenant_id said, so that the superuser counts the
# rows the tenant sees) (bench/bulk.sh's LIMIT over a cross join may take
# other rows in each run, which two files of the same rows cannot have)
superuser() {
    PGPASSFILE=$state/pg.pgpass psql -X -q -w -A -t -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$pg_port" -U postgres -d warehouse -c "$1"
}
acme=$(superuser "select count(*) from sales where tenant_id = 'acme'")
if ((rows <= acme)); then
    last=$(superuser "select id from sales where tenant_id = 'acme'
                      order by id offset $((rows - 1)) limit 1")
    sql="select * from sales where tenant_id = 'acme' and id <= $last"
elif ((rows <= 2 * acme)); then
    last=$(superuser "select id from sales where tenant_id = 'acme'
                      order by id offset $((rows - acme - 1)) limit 1")
    sql="select * from sales where tenant_id = 'acme' union all"
    sql+=" select * from sales where tenant_id = 'acme' and id <= $last"
else
    echo "parquet.sh: BENCH_BULK_ROWS is at most $((2 * acme))" >&2
    exit 2
fi

# DuckDB in one process: the CSV's columns typed as sales', written to
# Parquet (SNAPPY) with 1 thread, then its default; prints
# "seconds_1 seconds_default threads"; then the checks of both files
# shellcheck disable=SC2016  # the JavaScript, not shell expansions
duck='
import { DuckDBInstance } from "@duckdb/node-api";
const [csv, ours, out] = process.argv.slice(1);
const db = await DuckDBInstance.create(":memory:");
const c = await db.connect();
const cols = "{id: BIGINT, tenant_id: VARCHAR, region: VARCHAR, "
  + "product_id: INTEGER, quantity: SMALLINT, amount: \"DECIMAL(12,2)\", "
  + "discount: DOUBLE, returned: BOOLEAN, note: VARCHAR, sale_date: DATE, "
  + "sold_at: TIMESTAMPTZ}";
const threads = (await c.runAndReadAll(
  "select current_setting(\x27threads\x27) as t")).getRowObjectsJson()[0].t;
const times = [], cpus = [];
for (const [n, t] of [["1", 1], ["default", threads]]) {
  await c.run(`set threads = ${t}`);
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await c.run(`copy (select * from read_csv(\x27${csv}\x27, header = false,
    columns = ${cols})) to \x27${out}-${n}.parquet\x27
    (format parquet, compression snappy)`);
  times.push(((performance.now() - t0) / 1000).toFixed(3));
  const u = process.cpuUsage(u0);
  cpus.push(((u.user + u.system) / 1e6).toFixed(2));
}
const sums = async (f) => JSON.stringify((await c.runAndReadAll(
  `select count(*) as n, sum(id) as id, sum(amount) as amount,
     count(note) as notes, count(discount) as discounts,
     sum(epoch_us(sold_at)) as sold_at from read_parquet(\x27${f}\x27)`))
  .getRowObjectsJson()[0]);
console.log(times.join(" "), threads, cpus.join(" "));
console.log(await sums(ours));
console.log(await sums(`${out}-1.parquet`));
'

say "warm-up: a one-row UNLOAD of each format, the query once"
sql_saved=$sql
sql="select 1 as a"
unload warm-csv "FORMAT CSV" > /dev/null
unload warm-parquet "FORMAT PARQUET" > /dev/null
sql=$sql_saved
if [ "$(superuser "select count(*) from ($sql) q")" != "$rows" ]; then
    echo "parquet.sh: the query does not have $rows rows" >&2
    exit 1
fi

say "UNLOAD FORMAT CSV ($rows rows): the CSV DuckDB reads"
csv_s=$(unload csv "FORMAT CSV")
csv_file=$state/objects/$bucket/csv/0000_part_00
csv_bytes=$(stat -c %s "$csv_file")

say "UNLOAD FORMAT JSON ($rows rows): the rows fetched as Parquet's are"
c0=$(cpu_s "$dataapi_pid")
json_s=$(unload json "FORMAT JSON")
json_cpu=$(awk -v a="$(cpu_s "$dataapi_pid")" -v b="$c0" \
           'BEGIN { printf "%.2f", a - b }')
json_bytes=$(stat -c %s "$state/objects/$bucket/json/0000_part_00")

say "UNLOAD FORMAT PARQUET ($rows rows)"
hwm_before=$(status_kb "$dataapi_pid" VmHWM)
c0=$(cpu_s "$dataapi_pid")
pq_s=$(unload parquet "FORMAT PARQUET MANIFEST VERBOSE")
pq_cpu=$(awk -v a="$(cpu_s "$dataapi_pid")" -v b="$c0" \
         'BEGIN { printf "%.2f", a - b }')
hwm_after=$(status_kb "$dataapi_pid" VmHWM)
pq_file=$state/objects/$bucket/parquet/0000_part_00.parquet
pq_bytes=$(stat -c %s "$pq_file")

say "DuckDB: the CSV to Parquet (SNAPPY)"
mapfile -t duck_out < <(cd "$repo" && node --input-type=module -e "$duck" \
    "$csv_file" "$pq_file" "$state/duckdb/out")
read -r duck1_s duckn_s threads duck1_cpu duckn_cpu <<< "${duck_out[0]}"
duck_bytes=$(stat -c %s "$state/duckdb/out-1.parquet")
notes=()
if [ "${duck_out[1]}" != "${duck_out[2]}" ]; then
    notes+=("the files differ: spectra ${duck_out[1]}, DuckDB ${duck_out[2]}")
fi
if [ "$(jq -r .n <<< "${duck_out[1]}")" != "$rows" ]; then
    notes+=("spectra's file holds $(jq -r .n <<< "${duck_out[1]}") rows")
fi

rate() {
    awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'
}

mbs() {
    awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s / 1e6 }'
}

{
    echo "Spectra bench parquet (bench/parquet.sh), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) CPUs ($(awk -F': ' \
        '/^model name/ { print $2; exit }' /proc/cpuinfo)); load average" \
         "$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit $(git -C "$repo" rev-parse --short HEAD); DuckDB" \
         "$(jq -r .version "$repo/node_modules/@duckdb/node-api/package.json")"
    echo
    echo "$rows rows of sales as tenant_acme, one run each:"
    echo "  $sql"
    echo
    printf '%-44s %8s %10s %11s %12s\n' case seconds 'rows/s' \
        'CSV MB/s' 'file bytes'
    printf '%-44s %8s %10s %11s %12s\n' \
        "spectra-dataapi UNLOAD FORMAT CSV" "$csv_s" \
        "$(rate "$rows" "$csv_s")" "$(mbs "$csv_bytes" "$csv_s")" \
        "$csv_bytes"
    printf '%-44s %8s %10s %11s %12s\n' \
        "spectra-dataapi UNLOAD FORMAT JSON" "$json_s" \
        "$(rate "$rows" "$json_s")" "$(mbs "$csv_bytes" "$json_s")" \
        "$json_bytes"
    printf '%-44s %8s %10s %11s %12s\n' \
        "spectra-dataapi UNLOAD FORMAT PARQUET" "$pq_s" \
        "$(rate "$rows" "$pq_s")" "$(mbs "$csv_bytes" "$pq_s")" \
        "$pq_bytes"
    printf '%-44s %8s %10s %11s %12s\n' \
        "DuckDB CSV -> Parquet, 1 thread" "$duck1_s" \
        "$(rate "$rows" "$duck1_s")" "$(mbs "$csv_bytes" "$duck1_s")" \
        "$duck_bytes"
    printf '%-44s %8s %10s %11s %12s\n' \
        "DuckDB CSV -> Parquet, $threads threads" "$duckn_s" \
        "$(rate "$rows" "$duckn_s")" "$(mbs "$csv_bytes" "$duckn_s")" \
        "$(stat -c %s "$state/duckdb/out-default.parquet")"
    echo
    echo "(CSV MB/s: the rows' CSV size over the time, a common measure of"
    echo "the data; the UNLOADs include the query on PostgreSQL; CSV goes"
    echo "through COPY, JSON and Parquet fetch the rows one PGresult each)"
    echo
    echo "CPU seconds (user + system; PostgreSQL's backend not counted):"
    echo "  spectra-dataapi during UNLOAD FORMAT JSON:    $json_cpu"
    echo "  spectra-dataapi during UNLOAD FORMAT PARQUET: $pq_cpu"
    echo "  DuckDB's process, 1 thread:                   $duck1_cpu"
    echo "  DuckDB's process, $threads threads:                  $duckn_cpu"
    echo
    echo "ratios:"
    echo "  UNLOAD PARQUET / UNLOAD CSV time:        $(awk -v a="$pq_s" \
        -v b="$csv_s" 'BEGIN { printf "%.2fx", a / b }')"
    echo "  UNLOAD PARQUET / UNLOAD JSON time:       $(awk -v a="$pq_s" \
        -v b="$json_s" 'BEGIN { printf "%.2fx", a / b }')"
    echo "  UNLOAD PARQUET / DuckDB (1 thread) time: $(awk -v a="$pq_s" \
        -v b="$duck1_s" 'BEGIN { printf "%.2fx", a / b }')"
    echo "  UNLOAD PARQUET / DuckDB (1 thread) CPU:  $(awk -v a="$pq_cpu" \
        -v b="$duck1_cpu" 'BEGIN { printf "%.2fx", a / b }')"
    echo "  file size spectra / DuckDB (SNAPPY):     $(awk -v a="$pq_bytes" \
        -v b="$duck_bytes" 'BEGIN { printf "%.2fx", a / b }')"
    echo
    echo "spectra-dataapi peak RSS (VmHWM) during the Parquet UNLOAD:" \
         "+$(awk -v a="$hwm_after" -v b="$hwm_before" \
             'BEGIN { printf "%.1f", (a - b) / 1024 }') MiB" \
         "($(awk -v a="$hwm_after" 'BEGIN { printf "%.1f", a / 1024 }') MiB)"
    echo "both files read back by DuckDB: ${duck_out[1]}"
    if [ "${#notes[@]}" -gt 0 ]; then
        printf '%s\n' "${notes[@]}"
    fi
} > "$state/final.txt"

mkdir -p "$(dirname "$results")"
cp "$state/final.txt" "$results"
cat "$state/final.txt"
