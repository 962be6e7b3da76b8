"""``router export sam`` of http triggers' function URLs (FunctionUrlConfig), REST streaming
(ResponseTransferMode) and authorizers (the APIs' Auth): aws-sam-translator transforms the output
into the resources AWS would make, cfn-lint finds no error in it, and importing it gives back the
same triggers; what SAM cannot say is on stderr."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from router.cli import main
from router.config import Config, load_config
from router.templates.export import logical_id

from .test_export import _lint_errors


def _export(tmp_path: Path, config: str) -> tuple[Config, Config, dict[str, Any], str]:
    """(the config, the exported template imported back, the template, stderr)."""
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "keys").mkdir(exist_ok=True)
    (tmp_path / "keys" / "jwks.json").write_text('{"keys": []}')
    (tmp_path / "triggers.yaml").write_text(textwrap.dedent(config))
    out = tmp_path / "sam" / "template.yaml"
    result = CliRunner().invoke(main, ["export", "sam", "-c", str(tmp_path / "triggers.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert _lint_errors(text) == []
    return load_config(tmp_path / "triggers.yaml"), load_config(out), yaml.safe_load(text), result.stderr


def _transform(template: dict[str, Any]) -> dict[str, Any]:
    """The resources aws-sam-translator makes of ``template`` (its code uploaded, as `sam package`
    leaves it: CodeUri an S3 location)."""
    from samtranslator.translator.transform import transform

    class Policies:  # the managed policies' names: none used
        def load(self) -> dict[str, str]:
            return {}

    packaged = copy.deepcopy(template)
    for res in packaged["Resources"].values():
        if "CodeUri" in res["Properties"]:
            res["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    return dict(transform(packaged, {}, Policies())["Resources"])


def _http(c: Config, rename: bool) -> dict[str, Any]:
    """function -> the http triggers' settings, by route, with authorizer function names and JWKS
    paths as the template gives them (logical ids; resolved paths)."""
    found: dict[str, Any] = {}
    for t in c.triggers:
        if t.http is None:
            continue
        d = t.http.model_dump(mode="json")
        a = d["authorizer"]
        if a and a["function"] and rename:
            a["function"] = logical_id(a["function"])
        if a and a["jwt"]:
            a["jwt"]["jwks"] = str((c.root / a["jwt"]["jwks"]).resolve())
        key = "url" if t.http.url is not None else t.http.route
        found.setdefault(logical_id(t.function) if rename else t.function, {}).setdefault(key, d)  # a URL: the first
    return found


def test_function_urls_round_trip_and_transform(tmp_path: Path) -> None:
    before, after, template, stderr = _export(tmp_path, """\
        functions:
          chat: {handler: app.handler}
          api: {handler: app.handler}
          idle: {handler: app.handler}
        triggers:
          - name: chat-url
            function: chat
            http: {url: {invoke_mode: RESPONSE_STREAM, cors: {allow_origins: ["http://localhost:5173"],
                         allow_methods: [GET, POST], expose_headers: [x-id], max_age: 60, allow_credentials: true}}}
          - {name: chat-url-2, function: chat, http: {url: {port: 3010}}}
          - {name: api-url, function: api, http: {url: {port: 3009, cors: {allow_methods: [GET, OPTIONS]}}}}
          - {name: idle-url, function: idle, enabled: false, http: {url: true}}
        """)
    assert template["Resources"]["Chat"]["Properties"]["FunctionUrlConfig"] == {
        "AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM",
        "Cors": {"AllowOrigins": ["http://localhost:5173"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["*"],
                 "ExposeHeaders": ["x-id"], "MaxAge": 60, "AllowCredentials": True}}  # fmt: skip
    resources = _transform(template)
    assert resources["ChatUrl"]["Type"] == "AWS::Lambda::Url"  # SAM's FUNCTIONUrl
    assert resources["ChatUrl"]["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    assert resources["ApiUrl"]["Properties"]["Cors"] == {"AllowOrigins": ["*"], "AllowMethods": ["GET"],
                                                         "AllowHeaders": ["*"]}  # fmt: skip
    assert "IdleUrl" not in resources
    assert "trigger chat-url-2: function chat has a URL already (trigger chat-url): Lambda gives a function one " \
           "URL (left out)" in stderr
    assert "trigger api-url: a function URL's Cors allows only GET, PUT, HEAD, POST, PATCH, DELETE, * " \
           "(OPTIONS left out)" in stderr
    assert "trigger api-url: url.port 3009 is local" in stderr
    assert "trigger idle-url: a function URL cannot be disabled (left out)" in stderr
    # back: the same URLs (the port is router's; OPTIONS was dropped), named FUNCTIONUrl as SAM names them
    expected = _http(before, True)
    del expected["Idle"]
    expected["Api"]["url"]["url"].update(port=0, cors={**expected["Api"]["url"]["url"]["cors"],
                                                       "allow_methods": ["GET"]})  # fmt: skip
    assert _http(after, False) == expected
    assert sorted(t.name for t in after.triggers) == ["ApiUrl", "ChatUrl"] and after.notes == ()


def test_rest_streaming_round_trip_and_transform(tmp_path: Path) -> None:
    before, after, template, stderr = _export(tmp_path, """\
        functions:
          chat: {handler: app.handler}
        triggers:
          - {name: stream, function: chat, http: {route: "POST /chat", payload: "1.0", stage: v1,
                                                 response_transfer_mode: STREAM}}
          - {name: buffered, function: chat, http: {route: "POST /whole", payload: "1.0", stage: v1}}
          - {name: no-stage, function: chat, http: {route: "POST /flat", payload: "1.0",
                                                   response_transfer_mode: STREAM}}
        """)
    events = template["Resources"]["Chat"]["Properties"]["Events"]
    assert events["Stream"]["Properties"]["ResponseTransferMode"] == "RESPONSE_STREAM"
    assert "ResponseTransferMode" not in events["Buffered"]["Properties"]
    paths = _transform(template)["V1RestApi"]["Properties"]["Body"]["paths"]
    streamed = paths["/chat"]["post"]["x-amazon-apigateway-integration"]
    assert streamed["responseTransferMode"] == "STREAM"  # and invoked with InvokeWithResponseStream:
    assert "/2021-11-15/functions/${Chat.Arn}/response-streaming-invocations" in streamed["uri"]["Fn::Sub"]
    assert "responseTransferMode" not in paths["/whole"]["post"]["x-amazon-apigateway-integration"]
    assert "trigger no-stage: response_transfer_mode STREAM: a payload 1.0 route without a stage is exported " \
           "as an HTTP API, which does not stream (left buffered; give the trigger a stage" in stderr
    expected = _http(before, True)
    expected["Chat"]["POST /flat"]["response_transfer_mode"] = "BUFFERED"
    assert _http(after, False) == expected and after.notes == ()


AUTHORIZERS = """\
    functions:
      api: {handler: app.handler}
      auth_fn: {handler: app.handler}
    triggers:
      - function: api
        http: {route: GET /orders, payload: "1.0", stage: v1,
               authorizer: {function: auth_fn, type: token, ttl: 60, identity_source: [$request.header.X-Token]}}
      - {function: api, http: {route: GET /default-token, payload: "1.0", stage: v1,
                               authorizer: {function: auth_fn, type: token}}}
      - function: api
        http: {route: GET /req, payload: "1.0", stage: v1,
               authorizer: {function: auth_fn, identity_source: [$request.header.X-Key, $request.querystring.k]}}
      - {function: api, http: {route: GET /open, payload: "1.0", stage: v1}}
      - function: api
        http: {route: GET /me, authorizer: {function: auth_fn, identity_source: [$request.header.X-Key],
                                            simple_response: true, ttl: 10}}
      - {function: api, http: {route: GET /me1, authorizer: {function: auth_fn, payload: "1.0", ttl: 0}}}
      - function: api
        http: {route: GET /jwt, authorizer: {jwt: {issuer: "https://issuer.example", audience: [app, web],
                                                   jwks: keys/jwks.json}}}
      - {function: api, http: {route: GET /public}}
      - {function: api, http: {route: GET /staged, stage: live, authorizer: {function: auth_fn}}}
"""


def test_authorizers_round_trip_and_transform(tmp_path: Path) -> None:
    before, after, template, stderr = _export(tmp_path, AUTHORIZERS)
    r = template["Resources"]
    assert r["V1RestApi"]["Properties"]["Auth"]["Authorizers"]["AuthFnAuthorizer"] == {
        "FunctionArn": {"Fn::GetAtt": ["AuthFn", "Arn"]}, "FunctionPayloadType": "TOKEN",
        "Identity": {"Header": "X-Token", "ReauthorizeEvery": 60}}  # fmt: skip
    assert r["DefaultHttpApi"]["Properties"]["Auth"]["Authorizers"]["JwtAuthorizer"] == {
        "JwtConfiguration": {"issuer": "https://issuer.example", "audience": ["app", "web"]},
        "IdentitySource": "$request.header.Authorization"}  # fmt: skip
    assert r["DefaultHttpApi"]["Metadata"] == {"router": {"jwks": {"JwtAuthorizer": "../keys/jwks.json"}}}
    events = r["Api"]["Properties"]["Events"]
    # routes without an authorizer stay open (no DefaultAuthorizer), on the same API as router serves them
    assert "Auth" not in events["ApiHttp4"]["Properties"] and "Auth" not in events["ApiHttp8"]["Properties"]
    assert events["ApiHttp8"]["Properties"]["ApiId"] == {"Ref": "DefaultHttpApi"}
    assert "the JWT authorizer's jwks keys/jwks.json is local: API Gateway reads the keys of the issuer " \
           "https://issuer.example" in stderr

    resources = _transform(template)
    rest = resources["V1RestApi"]["Properties"]["Body"]
    schemes = {k: v["x-amazon-apigateway-authorizer"] for k, v in rest["securityDefinitions"].items()}
    assert {k: (v["type"], v["authorizerResultTtlInSeconds"], v.get("identitySource")) for k, v in schemes.items()} \
        == {"AuthFnAuthorizer": ("token", 60, None), "AuthFnAuthorizer2": ("token", 300, None),
            "AuthFnAuthorizer3": ("request", 300, "method.request.header.X-Key, method.request.querystring.k")}
    assert rest["securityDefinitions"]["AuthFnAuthorizer"]["name"] == "X-Token"
    assert "security" not in rest["paths"]["/open"]["get"]
    assert rest["paths"]["/orders"]["get"]["security"] == [{"AuthFnAuthorizer": []}]
    http = resources["DefaultHttpApi"]["Properties"]["Body"]
    v2 = {k: v["x-amazon-apigateway-authorizer"] for k, v in http["components"]["securitySchemes"].items()}
    assert v2["JwtAuthorizer"] == {"type": "jwt", "identitySource": "$request.header.Authorization",
                                   "jwtConfiguration": {"issuer": "https://issuer.example",
                                                        "audience": ["app", "web"]}}  # fmt: skip
    assert (v2["AuthFnAuthorizer"]["enableSimpleResponses"], v2["AuthFnAuthorizer"]["identitySource"],
            v2["AuthFnAuthorizer2"]["authorizerPayloadFormatVersion"]) == (True, ["$request.header.X-Key"], "1.0")
    assert resources["LiveHttpApi"]["Type"] == "AWS::ApiGatewayV2::Api"

    # back: the same authorizers; a request authorizer without identity sources has ttl 0 (no cache
    # either way), the payload 2.0 default is not written back, the JWKS path is the same file
    expected = _http(before, True)
    expected["Api"]["GET /staged"]["authorizer"]["ttl"] = 0
    assert _http(after, False) == expected and after.notes == ()


def test_authorizers_sam_cannot_say_leave_the_route_out(tmp_path: Path) -> None:
    _, after, template, stderr = _export(tmp_path, """\
        functions:
          api: {handler: app.handler}
          auth: {handler: app.handler}
        triggers:
          - {name: flat, function: api, http: {route: GET /flat, payload: "1.0", authorizer: {function: auth}}}
          - {name: query-token, function: api,
             http: {route: GET /q, payload: "1.0", stage: v1,
                    authorizer: {function: auth, type: token, identity_source: [$request.querystring.t]}}}
          - {name: two, function: api,
             http: {route: GET /two, payload: "1.0", stage: v1,
                    authorizer: {function: auth, type: token, identity_source: [$request.header.A, $request.header.B]}}}
        """)
    assert "trigger flat: router runs its authorizer as a REST API's, but a payload 1.0 route without a stage " \
           "is exported as an HTTP API (the route left out" in stderr
    assert "trigger query-token: a TOKEN authorizer's token is a header, not $request.querystring.t (the route " \
           "left out rather than deployed open)" in stderr
    assert "trigger two: a TOKEN authorizer has one identity source, the token's header ($request.header.B " \
           "left out)" in stderr
    assert set(template["Resources"]["Api"]["Properties"]["Events"]) == {"Two"}
    assert [(t.http.route, t.http.authorizer.identity_source) for t in after.triggers  # type: ignore[union-attr]
            ] == [("GET /two", ("$request.header.A",))]


def test_an_imported_auth_router_does_not_run_is_noted(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(textwrap.dedent("""\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: v1
              Auth:
                DefaultAuthorizer: Pool
                Authorizers:
                  Pool: {UserPoolArn: arn:aws:cognito-idp:us-east-1:123456789012:userpool/p}
                  J: {FunctionArn: !GetAtt JavaAuth.Arn}
                  Fn: {FunctionArn: !GetAtt Auth.Arn, FunctionPayloadType: REQUEST,
                       Identity: {Headers: [X-Key], ReauthorizeEvery: 30}}
          Jwt:
            Type: AWS::Serverless::HttpApi
            Properties:
              Auth:
                Authorizers:
                  Issuer: {JwtConfiguration: {issuer: "https://i.example", audience: [a]},
                           IdentitySource: $request.header.Authorization}
          Web:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              Events:
                ByDefault: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /a, Method: get}}
                Open: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /b, Method: get, Auth: {Authorizer: NONE}}}
                Mine: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /c, Method: get, Auth: {Authorizer: Fn}}}
                Token: {Type: HttpApi, Properties: {ApiId: !Ref Jwt, Path: /d, Method: get,
                                                    Auth: {Authorizer: Issuer}}}
                Java: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /e, Method: get, Auth: {Authorizer: J}}}
          Auth:
            Type: AWS::Serverless::Function
            Properties: {Handler: app.handler, Runtime: python3.12}
          JavaAuth:
            Type: AWS::Serverless::Function
            Properties: {Handler: a.B::handle, Runtime: java21}
        """))
    c = load_config(tmp_path / "template.yaml")
    auth = {t.http.route: t.http.authorizer for t in c.triggers if t.http is not None}
    assert (auth["GET /a"], auth["GET /b"], auth["GET /d"], auth["GET /e"]) == (None, None, None, None)
    assert auth["GET /c"] is not None and auth["GET /c"].model_dump(exclude_defaults=True) == {
        "function": "Auth", "identity_source": ("$request.header.X-Key",), "ttl": 30}  # fmt: skip
    assert c.notes == (
        "not emulated: Web.Events.ByDefault Auth a Cognito user pool authorizer (requests are not authorized)",
        "not emulated: Web.Events.Token Auth a JWT authorizer without a local JWKS (Metadata: {router: {jwks: "
        "{NAME: FILE}}} on the API) (requests are not authorized)",
        "not emulated: JavaAuth (AWS::Serverless::Function: runtime java21)",
        "not emulated: WebJava authorizer JavaAuth (not run: requests are not authorized)")  # fmt: skip
