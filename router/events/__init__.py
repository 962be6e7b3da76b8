"""Pure builders of the AWS payloads router delivers, one module per shape.

- :mod:`.s3`: S3 event notifications (``Records[]``, eventVersion 2.1)
- :mod:`.schedule`: the EventBridge "Scheduled Event"
- :mod:`.apigw`: API Gateway REST proxy events (payload 1.0) and REST response mapping
- :mod:`.http_api`: API Gateway HTTP API events (payload 2.0) and their response mapping
- :mod:`.http`: the request/response values both API Gateway builders take and give
- :mod:`.dynamodb`: DynamoDB Streams records, attribute values, the GetRecords normaliser

Everything here is standard library only and does no I/O: time (epoch seconds), ids and
counters are arguments, so the pipeline, ``router event``, replay and the tests all build
the same payload from the same facts. Payloads are plain JSON-safe dicts.
"""

from __future__ import annotations

from . import apigw, dynamodb, http, http_api, s3, schedule

__all__ = ["apigw", "dynamodb", "http", "http_api", "s3", "schedule"]
