"""A template's layers (AWS::Serverless::LayerVersion ContentUri, AWS::Lambda::LayerVersion with
CDK's aws:asset:path) as functions' ``layers``, and function URLs (SAM's FunctionUrlConfig,
AWS::Lambda::Url) as http ``url`` triggers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from router.api import Router
from router.config import Config, load_config
from router.httpclient import HttpClient

SAM = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Layers: [!Ref Common]
Resources:
  Common:
    Type: AWS::Serverless::LayerVersion
    Properties: {LayerName: common, ContentUri: layers/common}
  Built:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/built}
    Metadata: {BuildMethod: python3.12}
  Remote:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: s3://bucket/layer.zip}
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      CodeUri: src
      Layers: [!Ref Built, !Ref Remote, arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:7]
      FunctionUrlConfig:
        AuthType: NONE
        Cors: {AllowOrigins: ["http://localhost:5173"], AllowMethods: [GET], MaxAge: 60}
  Private:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      CodeUri: src
      FunctionUrlConfig: {AuthType: AWS_IAM}
"""


def _sam(root: Path) -> Path:
    site = f"python/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
    for name, text in {"layers/common/python/common.py": "WHO = 'common'",
                       f"layers/built/{site}/built.py": "WHO = 'built'",
                       "src/app.py": "import built, common\n\ndef handler(event, context):\n"
                                     "    return [common.WHO, built.WHO, event['rawPath']]\n",
                       "template.yaml": SAM}.items():  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "template.yaml"


def _url(config: Config, name: str) -> dict[str, object]:
    return config.trigger(name).model_dump(mode="json", exclude_defaults=True, exclude={"name"})


def test_sam_layers_and_function_urls(tmp_path: Path) -> None:
    c = load_config(_sam(tmp_path))
    layers = tmp_path / "layers"
    # Globals' Layers first, then the function's (SAM concatenates lists); Lambda's order kept
    assert c.functions["Api"].layers == (str(layers / "common"), str(layers / "built"))
    assert c.functions["Private"].layers == (str(layers / "common"),)
    assert _url(c, "ApiUrl") == {"function": "Api", "http": {"route": "$default", "url": {
        "cors": {"allow_origins": ["http://localhost:5173"], "allow_methods": ["GET"], "allow_headers": [],
                 "max_age": 60}}}}  # fmt: skip
    assert _url(c, "PrivateUrl") == {"function": "Private", "http": {"route": "$default", "url": {}}}
    assert list(c.notes) == [
        "not emulated: Built Metadata.BuildMethod python3.12 (ContentUri layers/built is used as it is, not built)",
        "not emulated: Remote (AWS::Serverless::LayerVersion: its content is not on this machine (an S3 location))",
        "not emulated: Api layer arn:aws:lambda:us-east-1:123456789012:layer:Remote:1 (not a layer of this "
        "template with its content here: the function runs without it)",
        "not emulated: Api layer arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:7 (not a "
        "layer of this template with its content here: the function runs without it)",
        "not emulated: PrivateUrl AuthType AWS_IAM (the URL serves unsigned requests)",
    ]


@pytest.mark.slow
def test_the_imported_layers_load_and_the_url_serves(tmp_path: Path) -> None:
    with Router(_sam(tmp_path)) as router:
        client = HttpClient(router.app.source("http").function_urls.url_of("ApiUrl").rstrip("/"))
        try:
            resp = client.request("GET", "/orders")
        finally:
            client.close()
    assert resp.status_code == 200 and resp.json() == ["common", "built", "/orders"]


CDK = {
    "Resources": {
        "Deps1A2B3C": {"Type": "AWS::Lambda::LayerVersion",
                       "Properties": {"Content": {"S3Bucket": "cdk-assets", "S3Key": "layer.zip"}},
                       "Metadata": {"aws:asset:path": "asset.layer1"}},
        "FnA1B2C3": {"Type": "AWS::Lambda::Function",
                     "Properties": {"Handler": "index.handler", "Runtime": "nodejs20.x",
                                    "Code": {"S3Bucket": "cdk-assets", "S3Key": "fn.zip"},
                                    "Layers": [{"Ref": "Deps1A2B3C"}]},
                     "Metadata": {"aws:asset:path": "asset.fn1"}},
        "FnUrlD4E5F6": {"Type": "AWS::Lambda::Url",
                        "Properties": {"TargetFunctionArn": {"Fn::GetAtt": ["FnA1B2C3", "Arn"]}, "AuthType": "NONE",
                                       "Cors": {"AllowOrigins": ["*"]}}},
    }
}  # fmt: skip


def test_cdk_layer_assets_and_lambda_url(tmp_path: Path) -> None:
    (tmp_path / "asset.layer1" / "nodejs" / "node_modules").mkdir(parents=True)
    (tmp_path / "asset.fn1").mkdir()
    (tmp_path / "asset.fn1" / "index.js").write_text("exports.handler = async () => 1;\n")
    (tmp_path / "App.template.json").write_text(json.dumps(CDK))
    c = load_config(tmp_path / "App.template.json")
    assert c.functions["FnA1B2C3"].layers == (str(tmp_path / "asset.layer1"),)
    assert _url(c, "FnUrlD4E5F6") == {"function": "FnA1B2C3", "http": {"route": "$default", "url": {
        "cors": {"allow_methods": [], "allow_headers": []}}}}  # allow_origins ["*"]: the default  # fmt: skip
    assert c.notes == ()
