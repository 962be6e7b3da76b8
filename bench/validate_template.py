"""``router validate`` on a generated SAM template with 30 functions (issue 23: under 2 s).

The template: Parameters, Globals, a Condition, 30 functions each with an HttpApi event and
an intrinsic-laden environment; every third with a table whose stream triggers it, every
third with an SQS queue, every third with a bucket event; a Step Functions state machine
(not emulated). Each run is a fresh ``router validate template.yaml`` process, wall time from
spawn to exit (the interpreter's start and the imports included), median and max of
``--runs`` runs after one warm-up.

Usage: ``.venv/bin/python bench/validate_template.py [--runs 5] [--functions 30]``. Prints
the figures; writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUTER = str(Path(sys.executable).parent / "router")
ENV = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip


def template(functions: int) -> str:
    lines = [
        "AWSTemplateFormatVersion: '2010-09-09'",
        "Transform: AWS::Serverless-2016-10-31",
        "Parameters:",
        "  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}",
        "Conditions:",
        "  IsProd: !Equals [!Ref Stage, prod]",
        "Globals:",
        "  Function:",
        "    Runtime: python3.11",
        "    CodeUri: src/",
        "    Timeout: 10",
        "    Environment: {Variables: {STAGE: !Ref Stage}}",
        "Resources:",
        "  Flow: {Type: AWS::StepFunctions::StateMachine, Properties: {Definition: {}}}",
    ]
    for n in range(functions):
        events = [f"        Http: {{Type: HttpApi, Properties: {{Path: /f{n}, Method: post}}}}"]
        env = [f"          NAME: !Sub '${{AWS::StackName}}-f{n}-${{AWS::Region}}'",
               "          SIZE: !If [IsProd, large, small]"]  # fmt: skip
        if n % 3 == 0:
            lines += [f"  Table{n}:", "    Type: AWS::DynamoDB::Table", "    Properties:",
                      "      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]",
                      "      KeySchema: [{AttributeName: pk, KeyType: HASH}]",
                      "      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}"]  # fmt: skip
            events.append(f"        Stream: {{Type: DynamoDB, Properties: {{Stream: !GetAtt Table{n}.StreamArn, "
                          "StartingPosition: LATEST, BatchSize: 10}}")  # fmt: skip
            env.append(f"          TABLE: !Ref Table{n}")
        if n % 3 == 1:
            lines += [f"  Queue{n}: {{Type: AWS::SQS::Queue, Properties: {{VisibilityTimeout: 60}}}}"]
            events.append(f"        Queue: {{Type: SQS, Properties: {{Queue: !GetAtt Queue{n}.Arn, BatchSize: 5}}}}")
            env.append(f"          QUEUE: !Ref Queue{n}")
        if n % 3 == 2:
            lines += [f"  Bucket{n}: {{Type: AWS::S3::Bucket}}"]
            events.append(f"        Upload: {{Type: S3, Properties: {{Bucket: !Ref Bucket{n}, "
                          "Events: 's3:ObjectCreated:*'}}")  # fmt: skip
            env.append(f"          BUCKET: !Ref Bucket{n}")
        lines += [f"  Fn{n}:", "    Type: AWS::Serverless::Function", "    Properties:",
                  "      Handler: app.handler", "      Environment:", "        Variables:", *env,
                  "      Events:", *events]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--functions", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="router-bench-") as tmp:
        root = Path(tmp) / "shop"
        (root / "src").mkdir(parents=True)
        (root / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
        path = root / "template.yaml"
        path.write_text(template(args.functions))
        times = []
        for run in range(args.runs + 1):
            started = time.perf_counter()
            done = subprocess.run([ROUTER, "validate", str(path)], capture_output=True, text=True, env=ENV,
                                  cwd=root)  # fmt: skip
            took = time.perf_counter() - started
            if done.returncode != 0:
                sys.exit(f"router validate failed ({done.returncode}):\n{done.stdout}{done.stderr}")
            if run:  # the first run warms the disk cache and the compiled modules
                times.append(took)
        print(done.stdout.strip())
        print(f"{args.functions} functions, {path.stat().st_size:,} bytes of template; router validate, "
              f"{args.runs} runs: median {statistics.median(times):.2f} s, max {max(times):.2f} s "
              f"(target: under 2 s)")  # fmt: skip


if __name__ == "__main__":
    main()
