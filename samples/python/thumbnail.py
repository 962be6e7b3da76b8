"""S3 trigger demo: reads each dropped object back from the (embedded) bucket with boto3, and
writes its "thumbnail" (here: its first 64 bytes) as THUMB_PREFIX + key into THUMB_BUCKET, which
another function (index) watches: a chain, as real apps build them."""
import hashlib
import os
from urllib.parse import unquote_plus

import boto3

s3 = boto3.client("s3")  # AWS_ENDPOINT_URL points it at router's embedded AWS


def handler(event, context):
    results = []
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])  # keys arrive URL-encoded, as from S3
        if record["eventName"].startswith("ObjectRemoved"):
            print(f"{key} was removed from {bucket}")
            results.append({"key": key, "removed": True})
            continue
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        print(f"read {len(body)} bytes of s3://{bucket}/{key} (prefix {os.environ.get('THUMB_PREFIX')})")
        if os.environ.get("THUMB_BUCKET"):
            thumb = os.environ.get("THUMB_PREFIX", "thumbs/") + key
            s3.put_object(Bucket=os.environ["THUMB_BUCKET"], Key=thumb, Body=body[:64])
        results.append({"key": key, "size": len(body), "md5": hashlib.md5(body).hexdigest()})
    return results[0] if len(results) == 1 else results
