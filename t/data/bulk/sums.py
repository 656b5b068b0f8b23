#!/usr/bin/python3
"""The per-column sums of an export's rows (decompressed, on stdin): the
same figures t/data/bulk/lib/SpectraBulk.pm asks psql and DuckDB for.

usage: sums.py csv|json DELIMITER [header]   (csv: RFC 4180, the
delimiter, a header row or not)
"""

import csv
import datetime
import decimal
import json
import sys

COLUMNS = ['id', 'tenant_id', 'region', 'product_id', 'quantity', 'amount',
           'discount', 'returned', 'note', 'sale_date', 'sold_at']
EPOCH_DAY = datetime.date(2025, 1, 1)


def rows_csv(f, delimiter, header):
    reader = csv.reader(f, delimiter=delimiter, strict=True)
    names = COLUMNS
    if header:
        names = next(reader)
        if names != COLUMNS:
            sys.exit('unexpected header: %r' % names)
    for fields in reader:
        if len(fields) != len(names):
            sys.exit('a row of %d fields: %r' % (len(fields), fields))
        # an empty field is NULL (UNLOAD's CSV)
        row = {k: (v if v != '' else None) for k, v in zip(names, fields)}
        row['returned'] = {'t': True, 'f': False}[row['returned']]
        yield row


def rows_json(f):
    for line in f:
        obj = json.loads(line, parse_float=decimal.Decimal)
        if not isinstance(obj, dict):
            sys.exit('a line that is not an object')
        yield {k: obj.get(k) for k in COLUMNS}


def main():
    fmt, delimiter = sys.argv[1], sys.argv[2]
    header = len(sys.argv) > 3 and sys.argv[3] == 'header'
    f = open(sys.stdin.fileno(), encoding='utf-8', newline='')
    rows = rows_csv(f, delimiter, header) if fmt == 'csv' else rows_json(f)
    s = dict.fromkeys(['rows', 'id', 'product_id', 'quantity',
                       'amount_cents', 'discount_n', 'discount_centi',
                       'returned', 'note_n', 'note_len', 'region_len',
                       'sale_days', 'sold_at'], 0)
    tenants = {}

    for r in rows:
        s['rows'] += 1
        s['id'] += int(r['id'])
        s['product_id'] += int(r['product_id'])
        s['quantity'] += int(r['quantity'])
        s['amount_cents'] += int(decimal.Decimal(str(r['amount'])) * 100)
        if r['discount'] is not None:
            s['discount_n'] += 1
            s['discount_centi'] += int((decimal.Decimal(str(r['discount']))
                                        * 100).to_integral_value(
                                            decimal.ROUND_HALF_UP))
        s['returned'] += 1 if r['returned'] is True else 0
        if r['note'] is not None:
            s['note_n'] += 1
            s['note_len'] += len(r['note'])
        s['region_len'] += len(r['region'])
        s['sale_days'] += (datetime.date.fromisoformat(r['sale_date'])
                           - EPOCH_DAY).days
        s['sold_at'] += int(datetime.datetime.fromisoformat(r['sold_at'])
                            .timestamp())
        tenants[r['tenant_id']] = tenants.get(r['tenant_id'], 0) + 1

    out = {k: str(v) for k, v in s.items()}
    out['tenants'] = ','.join('%s=%d' % kv for kv in sorted(tenants.items()))
    print(json.dumps(out, sort_keys=True))


main()
