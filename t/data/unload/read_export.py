"""Reads UNLOAD files of the demo warehouse's sales table back, without
spectra-dataapi's code: gzip with Python's gzip module, zstd through the
zstd(1) command, CSV with Python's csv module (RFC 4180), JSON lines with
its json module. Prints, as JSON, what t/035-dataapi-unload.t compares
with PostgreSQL: rows, tenants, per-column sums and counts, lines per file.

usage: read_export.py csv|json [--header] FILE...
"""

import csv
import gzip
import io
import json
import subprocess
import sys
from decimal import Decimal
from functools import partial

COLUMNS = ['id', 'tenant_id', 'region', 'product_id', 'quantity', 'amount',
           'discount', 'returned', 'note', 'sale_date', 'sold_at']


# numbers exactly as written: 1.37 stays 1.37, not the nearest double
loads = partial(json.loads, parse_float=Decimal)


def raw(path):
    if path.endswith('.gz'):
        with gzip.open(path, 'rb') as f:
            return f.read()
    if path.endswith('.zst'):
        return subprocess.run(['zstd', '-dc', '--', path], check=True,
                              stdout=subprocess.PIPE).stdout
    with open(path, 'rb') as f:
        return f.read()


def main():
    fmt = sys.argv[1]
    header = sys.argv[2] == '--header'
    files = sys.argv[3:] if header else sys.argv[2:]
    out = {'rows': 0, 'tenants': [], 'sum_id': 0, 'sum_amount': Decimal(0),
           'sum_quantity': 0, 'notes': 0, 'discounts': 0, 'returned': 0,
           'files': []}
    tenants = set()

    for path in files:
        text = raw(path).decode('utf-8')
        lines = text.count('\n')
        n = 0
        if fmt == 'csv':
            reader = csv.reader(io.StringIO(text, newline=''))
            if header:
                names = next(reader)
                if names != COLUMNS:
                    raise SystemExit('%s: header %r' % (path, names))
            rows = ((rec[1], rec[0], rec[5], rec[4], rec[6] or None,
                     rec[7] == 't', rec[8] or None, len(rec))
                    for rec in reader)
        else:
            rows = ((o['tenant_id'], o['id'], o['amount'], o['quantity'],
                     o['discount'], o['returned'] is True, o['note'],
                     len(o) if list(o) == COLUMNS else -1)
                    for o in map(loads, text.splitlines()))

        sum_id = sum_quantity = notes = discounts = returned = 0
        amounts = []
        for tenant, id_, amount, quantity, discount, ret, note, width in rows:
            if width != len(COLUMNS):
                raise SystemExit('%s: row %d has other columns' % (path, n))
            tenants.add(tenant)
            sum_id += int(id_)
            amounts.append(str(amount))
            sum_quantity += int(quantity)
            notes += note is not None
            discounts += discount is not None
            returned += ret
            n += 1

        out['sum_id'] += sum_id
        out['sum_amount'] += sum(map(Decimal, amounts))
        out['sum_quantity'] += sum_quantity
        out['notes'] += notes
        out['discounts'] += discounts
        out['returned'] += returned
        out['rows'] += n
        out['files'].append({'file': path, 'lines': lines, 'rows': n})

    out['tenants'] = sorted(tenants)
    out['sum_amount'] = str(out['sum_amount'])
    json.dump(out, sys.stdout)


main()
