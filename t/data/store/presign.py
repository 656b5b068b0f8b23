#!/usr/bin/python3
"""Prints the presigned URL Debian's botocore makes for one S3 object.

For t/064-object-store.t (SpectraStore::presign):
  presign.py ENDPOINT BUCKET KEY [name=value ...]
with method (GET; HEAD, PUT), expires (seconds, 3600), now (the signer's
clock, YYYYmmddTHHMMSSZ; default the real one), region (us-east-1),
access_key, secret_key, token, style (path; virtual).  The key is given
as UTF-8 and may hold any character.
"""

import datetime
import sys
import types

import botocore.auth
import botocore.session
from botocore.config import Config


def main():
    endpoint, bucket, key = sys.argv[1:4]
    o = {"method": "GET", "expires": "3600", "region": "us-east-1",
         "style": "path", "token": None, "now": None}
    for arg in sys.argv[4:]:
        name, value = arg.split("=", 1)
        o[name] = value

    if o["now"] is not None:
        now = datetime.datetime.strptime(o["now"], "%Y%m%dT%H%M%SZ")

        class FixedDateTime(datetime.datetime):
            @classmethod
            def utcnow(cls):
                return now

        botocore.auth.datetime = types.SimpleNamespace(
            datetime=FixedDateTime)

    # botocore's own signer (the one without awscrt): its clock is the
    # one fixed above
    botocore.auth.AUTH_TYPE_MAPS["s3v4-query"] = \
        botocore.auth.S3SigV4QueryAuth

    client = botocore.session.get_session().create_client(
        "s3", region_name=o["region"], endpoint_url=endpoint,
        aws_access_key_id=o["access_key"],
        aws_secret_access_key=o["secret_key"],
        aws_session_token=o["token"],
        config=Config(signature_version="s3v4",
                      s3={"addressing_style": o["style"]}))
    operation = {"GET": "get_object", "HEAD": "head_object",
                 "PUT": "put_object"}[o["method"]]
    print(client.generate_presigned_url(
        operation, Params={"Bucket": bucket, "Key": key},
        ExpiresIn=int(o["expires"])))


if __name__ == "__main__":
    main()
