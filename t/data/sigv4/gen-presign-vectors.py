#!/usr/bin/python3
"""Presigned S3 URLs as Debian's botocore writes them, for test_presign.c.

Writes t/data/sigv4/presign-vectors.json (or stdout with "-"): each vector
gives the inputs (endpoint, addressing style, bucket, key, method,
credentials, region, clock, expiry) and the URLs botocore's
generate_presigned_url() made from them, with its clock fixed:
"url" by botocore's own signer (botocore.auth.S3SigV4QueryAuth, whose
parameter order is AWS's documented one), "crt_url" by the awscrt signer
botocore picks when python3-awscrt is installed (the aws CLI's; same
signature, other parameter order).  Run by /usr/bin/python3
(python3-botocore, python3-awscrt); test_presign (`make unit`) runs it
again and fails when its output differs from the committed file.
"""

import datetime
import json
import sys
import types

import botocore
import botocore.auth
import botocore.crt.auth
import botocore.session
from botocore.config import Config

AKID = "AKIDSPECTRAS3TEST001"
SECRET = "spectraS3Secret/Key+0123456789abcdefghijk"
TOKEN = ("FwoGZXIvYXdzEXAMPLE//////////wEaDH+token/with+plus=and/slash="
         "\u0020end==")
AWS_AKID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

KEYS = [
    "exports/tenant=acme/job=42/0000_part_00.gz",
    "exports/tenant=acme/job=42/manifest",
    "a b/c+d=e&f.csv",
    "caf\u00e9/\u65e5\u672c\u8a9e/\u00fcber \U0001f600.csv",
    "tilde~dir/under_score-dash.dot",
    "odd !\"#$%&'()*,:;<>?@[\\]^`{|}.txt",
    "percent%20stays%2Fliteral",
    "/leading/slash",
    "double//slash/",
]

ENDPOINTS = [
    # endpoint, region, addressing style, bucket
    ("http://127.0.0.1:31450", "us-east-1", "path", "spectra-exports"),
    ("https://s3.eu-west-1.amazonaws.com", "eu-west-1", "virtual",
     "spectra-exports"),
    ("https://s3.eu-west-1.amazonaws.com", "eu-west-1", "path",
     "spectra-exports"),
    ("https://minio.example.com:9000", "garage-1", "path", "bulk"),
    ("https://minio.example.com:9000", "garage-1", "virtual", "bulk"),
    ("http://localhost:80", "us-east-1", "path", "b12"),
    ("https://storage.example.com:443/base", "us-west-2", "path", "bkt"),
]

OPERATIONS = {"GET": "get_object", "HEAD": "head_object",
              "PUT": "put_object"}


def fixed_clock(stamp):
    now = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")

    class FixedDateTime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return now

    shim = types.SimpleNamespace(datetime=FixedDateTime,
                                 timezone=datetime.timezone)
    botocore.auth.datetime = shim
    botocore.crt.auth.datetime = shim


def presign(session, v, signer):
    fixed_clock(v["now"])
    botocore.auth.AUTH_TYPE_MAPS["s3v4-query"] = signer
    client = session.create_client(
        "s3", region_name=v["region"], endpoint_url=v["endpoint"],
        aws_access_key_id=v["access_key"],
        aws_secret_access_key=v["secret_key"],
        aws_session_token=v["session_token"],
        config=Config(signature_version="s3v4",
                      s3={"addressing_style":
                          "path" if v["path_style"] else "virtual"}))
    return client.generate_presigned_url(
        OPERATIONS[v["method"]], Params={"Bucket": v["bucket"],
                                         "Key": v["key"]},
        ExpiresIn=v["expires"])


def vectors():
    out = []
    n = 0
    for endpoint, region, style, bucket in ENDPOINTS:
        for key in KEYS:
            n += 1
            token = TOKEN if n % 3 == 0 else None
            out.append({
                "name": "%s %s %s" % (endpoint, style, key),
                "method": ["GET", "HEAD", "PUT"][n % 7 % 3],
                "endpoint": endpoint, "path_style": style == "path",
                "bucket": bucket, "key": key, "region": region,
                "access_key": AKID, "secret_key": SECRET,
                "session_token": token,
                "now": "2026%02d%02dT%02d%02d%02dZ" % (
                    1 + n % 12, 1 + n % 28, n % 24, n % 60, (7 * n) % 60),
                "expires": [1, 3600, 86400, 604800][n % 4],
            })

    # AWS's own example (the S3 SigV4 query-auth documentation)
    out.append({
        "name": "AWS example GET examplebucket/test.txt",
        "method": "GET", "endpoint": "https://s3.amazonaws.com",
        "path_style": False, "bucket": "examplebucket", "key": "test.txt",
        "region": "us-east-1", "access_key": AWS_AKID,
        "secret_key": AWS_SECRET, "session_token": None,
        "now": "20130524T000000Z", "expires": 86400,
    })
    return out


def main():
    session = botocore.session.get_session()
    out = vectors()
    for v in out:
        v["url"] = presign(session, v, botocore.auth.S3SigV4QueryAuth)
        v["crt_url"] = presign(session, v,
                               botocore.crt.auth.CrtS3SigV4QueryAuth)
    doc = {"generator": "t/data/sigv4/gen-presign-vectors.py, botocore "
           + botocore.__version__, "vectors": out}
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if len(sys.argv) > 1 and sys.argv[1] == "-":
        sys.stdout.write(text)
    else:
        path = sys.argv[1] if len(sys.argv) > 1 else \
            "t/data/sigv4/presign-vectors.json"
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
