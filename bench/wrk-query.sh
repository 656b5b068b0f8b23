# shellcheck shell=bash
# Sourced by bench/query.sh and bench/load.sh: the query they measure and
# the wrk script that sends it.

sql_for() {
    echo "select * from sales order by id limit $1"
}

# wrk_script FILE ROWS KEY: a POST /v1/queries of ROWS rows, sent with the
# API key KEY, that counts every answer that is not 200 with exactly ROWS
# rows; done() prints one line:
# BENCH requests duration_us p50_us p99_us socket_errors bad_answers
wrk_script() {
    local file=$1 rows=$2 key=$3 body

    body=$(jq -cn --arg sql "$(sql_for "$rows")" \
           '{sql: $sql, row_limit: 10000}')
    (
        umask 077
        cat > "$file" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$key"

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    bad = 0
end

function response(status, headers, body)
    if status ~= 200
        or not string.find(body, '"row_count":$rows,', 1, true)
    then
        bad = bad + 1
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    local n = 0
    for _, t in ipairs(threads) do
        n = n + t:get("bad")
    end
    io.write(string.format("BENCH %d %d %d %d %d %d\\n",
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(99),
        e.connect + e.read + e.write + e.timeout, n))
end
LUA
    )
}
