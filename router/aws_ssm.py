"""Read one SSM parameter from an external AWS endpoint (a serverless.yml's ``${ssm:...}``)."""

from __future__ import annotations

import boto3
import botocore.config
import botocore.exceptions


def get_parameter(endpoint: str, region: str, name: str) -> str | None:
    """The value of parameter ``name`` (decrypted) at ``endpoint``, or None when it has none or
    the endpoint does not answer (dummy credentials: router never talks to real AWS for this)."""
    quick = botocore.config.Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})
    client = boto3.client("ssm", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing",
                          aws_secret_access_key="testing", config=quick)  # fmt: skip
    try:
        return str(client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        return None
