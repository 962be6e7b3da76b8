import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def create(event, context):
    order = json.loads(event["body"])
    table.put_item(Item={"id": order["id"], "total": order["total"]})
    return {"statusCode": 201, "body": json.dumps({"created": order["id"], "stage": os.environ["STAGE"]})}


def on_change(event, context):
    for record in event["Records"]:
        image = record["dynamodb"]["NewImage"]
        print(f"order {image['id']['S']} {record['eventName']} total {image['total']['N']}")
    return {"batchItemFailures": []}
