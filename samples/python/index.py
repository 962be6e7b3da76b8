"""S3 chain demo: runs for every thumbnail the thumbnail function writes (an SDK write, no
folder: the trigger names only the bucket)."""
from urllib.parse import unquote_plus


def handler(event, context):
    keys = []
    for record in event["Records"]:
        key = unquote_plus(record["s3"]["object"]["key"])
        print(f"indexed s3://{record['s3']['bucket']['name']}/{key} ({record['s3']['object']['size']} bytes)")
        keys.append(key)
    return keys
