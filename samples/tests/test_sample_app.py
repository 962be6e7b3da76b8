"""A user's tests for the sample app, with router's pytest plugin: `pytest samples/tests`.

The `router` fixture starts everything triggers.yaml describes (the rootdir's), on free
ports with a temporary state folder, and stops it after the test.
"""

import hashlib


def test_greeting_over_http(router):
    response = router.http.get("/hello/ann")
    assert response.status_code == 200
    assert response.text == "some success message"


def test_upload_is_read_back_from_s3(router):
    router.drop("uploads", "images/cat.jpg", b"meow")
    invocation = router.wait("thumbnail", timeout=20)
    assert invocation.ok
    assert invocation.result == {"key": "images/cat.jpg", "size": 4, "md5": hashlib.md5(b"meow").hexdigest()}


def test_nightly_report(router):
    router.fire("nightly")
    invocation = router.wait("report", timeout=20)
    assert invocation.result["orders"] == 3  # the seed data in samples/data/orders.json


def test_order_stream(router):
    router.aws.client("dynamodb").put_item(
        TableName="orders",
        Item={"pk": {"S": "customer#3"}, "sk": {"S": "order#1"}, "status": {"S": "new"}},
    )
    invocation = router.wait("on_order", timeout=20)
    assert invocation.ok
    assert invocation.event["Records"][0]["eventName"] == "INSERT"
