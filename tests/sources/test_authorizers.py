"""Authorizers on http routes, end to end with Python authorizer functions in real workers: REST
TOKEN / REQUEST and HTTP API 1.0 / 2.0 (simple) Lambda authorizers (allow, deny, 401, 500, the
cache, the context the function sees) and the HTTP API JWT authorizer (a key made here). Node.js
authorizers: AWS's own examples, run unchanged (issue 19)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from router.api import Router
from router.config import parse_config
from router.errors import ConfigError
from tests.conftest import _children, _threads

CONFIG = """
functions:
  echo: {handler: echo.handler}
  policy: {handler: policy.handler}
  simple: {handler: simple.handler}
  boom: {handler: boom.handler}
  node_token: {handler: node/token.handler}
  node_request: {handler: node/request.handler}
  node_simple: {handler: node/simple.handler}
  node_policy: {handler: node/policy.handler}
triggers:
  - {function: echo, http: {route: GET /rest/token, payload: "1.0",
     authorizer: {function: policy, type: token}}}
  - {function: echo, http: {route: GET /rest/req, payload: "1.0",
     authorizer: {function: policy, identity_source: [method.request.header.X-Key], ttl: 0}}}
  - {function: echo, http: {route: GET /api/simple,
     authorizer: {function: simple, identity_source: [$request.header.X-Key], simple_response: true}}}
  - {function: echo, http: {route: GET /api/v1,
     authorizer: {function: policy, payload: "1.0", identity_source: [$request.querystring.key], ttl: 0}}}
  - {function: echo, http: {route: GET /api/boom,
     authorizer: {function: boom, identity_source: [$request.header.X-Key]}}}
  - {function: echo, http: {route: GET /api/jwt,
     authorizer: {jwt: {issuer: "https://issuer.test", audience: [app], jwks: jwks.json}}}}
  - {function: echo, http: {route: GET /node/token, payload: "1.0",
     authorizer: {function: node_token, type: token, ttl: 0}}}
  - {function: echo, http: {route: GET /node/request, payload: "1.0",
     authorizer: {function: node_request, ttl: 0,
                  identity_source: [method.request.header.HeaderAuth1, $request.querystring.QueryString1]}}}
  - {function: echo, http: {route: GET /node/simple,
     authorizer: {function: node_simple, identity_source: [$request.header.Authorization], simple_response: true,
                  ttl: 0}}}
  - {function: echo, http: {route: GET /node/policy,
     authorizer: {function: node_policy, identity_source: [$request.header.Authorization], ttl: 0}}}
"""
ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
"""
POLICY = """
CALLS = [0]

def handler(event, context):
    CALLS[0] += 1
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    token = event.get("authorizationToken") or headers.get("x-key") or ""
    if token == "unauthorized":
        raise Exception("Unauthorized")
    effect = "Allow" if token.startswith("allow") else "Deny"
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}
    return {"principalId": "user-" + token, "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"calls": CALLS[0], "type": event["type"], "version": event.get("version", ""),
                        "flag": True, "none": None}}
"""
SIMPLE = """
def handler(event, context):
    return {"isAuthorized": event["identitySource"] == ["allow"],
            "context": {"route": event["routeArn"].split("/", 1)[1], "version": event["version"]}}
"""
BOOM = """
def handler(event, context):
    raise RuntimeError("the authorizer broke")
"""

# AWS's Node.js examples, unchanged: API Gateway developer guide, "Use API Gateway Lambda authorizers"
# (EXAMPLE: Create a Token-Based / a Request-Based Lambda Authorizer Function) and "Working with AWS
# Lambda authorizers for HTTP APIs" (Example Lambda authorizer functions: Simple response, IAM policy)
NODE_TOKEN = """
// A simple token-based authorizer example to demonstrate how to use an authorization token 
// to allow or deny a request. In this example, the caller named 'user' is allowed to invoke 
// a request if the client-supplied token value is 'allow'. The caller is not allowed to invoke 
// the request if the token value is 'deny'. If the token value is 'unauthorized' or an empty
// string, the authorizer function returns an HTTP 401 status code. For any other token value, 
// the authorizer returns an HTTP 500 status code. 
// Note that token values are case-sensitive.

exports.handler =  function(event, context, callback) {
    var token = event.authorizationToken;
    switch (token) {
        case 'allow':
            callback(null, generatePolicy('user', 'Allow', event.methodArn));
            break;
        case 'deny':
            callback(null, generatePolicy('user', 'Deny', event.methodArn));
            break;
        case 'unauthorized':
            callback("Unauthorized");   // Return a 401 Unauthorized response
            break;
        default:
            callback("Error: Invalid token"); // Return a 500 Invalid token response
    }
};

// Help function to generate an IAM policy
var generatePolicy = function(principalId, effect, resource) {
    var authResponse = {};
    
    authResponse.principalId = principalId;
    if (effect && resource) {
        var policyDocument = {};
        policyDocument.Version = '2012-10-17'; 
        policyDocument.Statement = [];
        var statementOne = {};
        statementOne.Action = 'execute-api:Invoke'; 
        statementOne.Effect = effect;
        statementOne.Resource = resource;
        policyDocument.Statement[0] = statementOne;
        authResponse.policyDocument = policyDocument;
    }
    
    // Optional output with custom properties of the String, Number or Boolean type.
    authResponse.context = {
        "stringKey": "stringval",
        "numberKey": 123,
        "booleanKey": true
    };
    return authResponse;
}
"""
NODE_REQUEST = """
exports.handler = function(event, context, callback) {        
    console.log('Received event:', JSON.stringify(event, null, 2));

    // A simple request-based authorizer example to demonstrate how to use request 
    // parameters to allow or deny a request. In this example, a request is  
    // authorized if the client-supplied HeaderAuth1 header, QueryString1 
    // query parameter, and stage variable of StageVar1 all match
    // specified values of 'headerValue1', 'queryValue1', and 'stageValue1',
    // respectively.

    // Retrieve request parameters from the Lambda function input:
    var headers = event.headers;
    var queryStringParameters = event.queryStringParameters;
    var pathParameters = event.pathParameters;
    var stageVariables = event.stageVariables;
        
    // Parse the input for the parameter values
    var tmp = event.methodArn.split(':');
    var apiGatewayArnTmp = tmp[5].split('/');
    var awsAccountId = tmp[4];
    var region = tmp[3];
    var restApiId = apiGatewayArnTmp[0];
    var stage = apiGatewayArnTmp[1];
    var method = apiGatewayArnTmp[2];
    var resource = '/'; // root resource
    if (apiGatewayArnTmp[3]) {
        resource += apiGatewayArnTmp[3];
    }
        
    // Perform authorization to return the Allow policy for correct parameters and 
    // the 'Unauthorized' error, otherwise.
    var authResponse = {};
    var condition = {};
    condition.IpAddress = {};
     
    if (headers.HeaderAuth1 === "headerValue1"
        && queryStringParameters.QueryString1 === "queryValue1"
        && stageVariables.StageVar1 === "stageValue1") {
        callback(null, generateAllow('me', event.methodArn));
    }  else {
        callback("Unauthorized");
    }
}
     
// Help function to generate an IAM policy
var generatePolicy = function(principalId, effect, resource) {
    // Required output:
    var authResponse = {};
    authResponse.principalId = principalId;
    if (effect && resource) {
        var policyDocument = {};
        policyDocument.Version = '2012-10-17'; // default version
        policyDocument.Statement = [];
        var statementOne = {};
        statementOne.Action = 'execute-api:Invoke'; // default action
        statementOne.Effect = effect;
        statementOne.Resource = resource;
        policyDocument.Statement[0] = statementOne;
        authResponse.policyDocument = policyDocument;
    }
    // Optional output with custom properties of the String, Number or Boolean type.
    authResponse.context = {
        "stringKey": "stringval",
        "numberKey": 123,
        "booleanKey": true
    };
    return authResponse;
}
     
var generateAllow = function(principalId, resource) {
    return generatePolicy(principalId, 'Allow', resource);
}
     
var generateDeny = function(principalId, resource) {
    return generatePolicy(principalId, 'Deny', resource);
}
"""
NODE_SIMPLE = """
exports.handler = async(event) => {
    let response = {
        "isAuthorized": false,
        "context": {
            "stringKey": "value",
            "numberKey": 1,
            "booleanKey": true,
            "arrayKey": ["value1", "value2"],
            "mapKey": {"value1": "value2"}
        }
    };
    
    if (event.headers.authorization === "secretToken") {
        response = {
            "isAuthorized": true,
            "context": {
                "stringKey": "value",
                "numberKey": 1,
                "booleanKey": true,
                "arrayKey": ["value1", "value2"],
                "mapKey": {"value1": "value2"}
            }
        };
    }

    return response;

};
"""
NODE_POLICY = """
exports.handler = async(event) => {
  if (event.headers.authorization == "secretToken") {
    console.log("allowed");
    return {
      "principalId": "abcdef", // The principal user identification associated with the token sent by the client.
      "policyDocument": {
        "Version": "2012-10-17",
        "Statement": [{
          "Action": "execute-api:Invoke",
          "Effect": "Allow",
          "Resource": event.routeArn
        }]
      },
      "context": {
        "stringKey": "value",
        "numberKey": 1,
        "booleanKey": true,
        "arrayKey": ["value1", "value2"],
        "mapKey": { "value1": "value2" }
      }
    };
  }
  else {
    console.log("denied");
    return {
      "principalId": "abcdef", // The principal user identification associated with the token sent by the client.
      "policyDocument": {
        "Version": "2012-10-17",
        "Statement": [{
          "Action": "execute-api:Invoke",
          "Effect": "Deny",
          "Resource": event.routeArn
        }]
      },
      "context": {
        "stringKey": "value",
        "numberKey": 1,
        "booleanKey": true,
        "arrayKey": ["value1", "value2"],
        "mapKey": { "value1": "value2" }
      }
    };
  }
};
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    head = _b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64(signature)}"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    """The module's router (its workers and threads) outlives each test: it checks for leaks when it stops."""
    yield


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory, key: rsa.RSAPrivateKey) -> Iterator[Router]:
    root = tmp_path_factory.mktemp("authorizers")
    for name, text in (("echo", ECHO), ("policy", POLICY), ("simple", SIMPLE), ("boom", BOOM)):
        (root / f"{name}.py").write_text(text)
    (root / "node").mkdir()
    for name, text in (("token", NODE_TOKEN), ("request", NODE_REQUEST), ("simple", NODE_SIMPLE),
                       ("policy", NODE_POLICY)):  # fmt: skip
        (root / "node" / f"{name}.js").write_text(text)
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
           "n": _b64(numbers.n.to_bytes(256, "big")), "e": _b64(numbers.e.to_bytes(3, "big"))}  # fmt: skip
    (root / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    procs, threads = _children(), _threads()
    with Router.from_text(CONFIG, root) as r:
        yield r
    deadline = time.monotonic() + 5
    while (_children() - procs or _threads() - threads) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _children() - procs and not _threads() - threads, "the router left processes or threads behind"


def test_rest_token_authorizer_allows_denies_and_caches(router: Router) -> None:
    authorizers = router.app.source("http").authorizers
    before = authorizers.invocations
    first = router.http.get("/rest/token", headers={"authorization": "allow-a"})
    second = router.http.get("/rest/token", headers={"authorization": "allow-a"})
    assert first.status_code == 200 and second.status_code == 200, first.text
    assert authorizers.invocations - before == 1  # the second answer came from the cache (ttl 300)
    context = first.json()
    assert context == second.json()
    assert (context["principalId"], context["type"]) == ("user-allow-a", "TOKEN")
    # payload 1.0: the context's values stringified, as API Gateway passes them
    assert isinstance(context["integrationLatency"], int) and context["calls"].isdigit()
    assert context["flag"] == "true" and context["none"] is None
    denied = router.http.get("/rest/token", headers={"authorization": "deny"})
    assert (denied.status_code, denied.json()) == (
        403,
        {"message": "User is not authorized to access this resource with an explicit deny"},
    )
    assert denied.header("x-amzn-errortype") == "AccessDeniedException"
    missing = router.http.get("/rest/token")
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    raised = router.http.get("/rest/token", headers={"authorization": "unauthorized"})
    assert (raised.status_code, raised.json()) == (401, {"message": "Unauthorized"})


def test_rest_request_and_http_api_1_0_authorizers(router: Router) -> None:
    rest = router.http.get("/rest/req", headers={"x-key": "allow-b"})
    assert rest.status_code == 200, rest.text
    assert (rest.json()["principalId"], rest.json()["type"]) == ("user-allow-b", "REQUEST")
    authorizers = router.app.source("http").authorizers
    before = authorizers.invocations
    for _ in range(2):  # ttl 0: no cache
        assert router.http.get("/rest/req", headers={"x-key": "allow-b"}).status_code == 200
    assert authorizers.invocations - before == 2
    v1 = router.http.get("/api/v1?key=allow-c")
    # HTTP API, authorizer payload 1.0, route payload 2.0: the context under "lambda"
    assert v1.status_code == 200, v1.text
    assert v1.json()["lambda"]["type"] == "REQUEST" and v1.json()["lambda"]["version"] == "1.0"
    assert router.http.get("/api/v1?key=deny").status_code == 403
    assert router.http.get("/api/v1").status_code == 401


def test_http_api_simple_responses_and_errors(router: Router) -> None:
    allowed = router.http.get("/api/simple", headers={"x-key": "allow"})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {"lambda": {"route": "$default/GET/api/simple", "version": "2.0"}}
    denied = router.http.get("/api/simple", headers={"x-key": "no"})
    assert (denied.status_code, denied.json()) == (403, {"message": "Forbidden"})
    assert router.http.get("/api/simple").json() == {"message": "Unauthorized"}
    broken = router.http.get("/api/boom", headers={"x-key": "k"})
    assert (broken.status_code, broken.json()) == (500, {"message": "Internal Server Error"})


def test_jwt_authorizer(router: Router, key: rsa.RSAPrivateKey) -> None:
    now = int(time.time())
    good = {"iss": "https://issuer.test", "aud": "app", "sub": "u1", "exp": now + 600, "iat": now - 5,
            "scope": "read write"}  # fmt: skip
    resp = router.http.get("/api/jwt", headers={"authorization": "Bearer " + _token(key, **good)})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"jwt": {"claims": good, "scopes": ["read", "write"]}}
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (
        _token(key, **{**good, "exp": now - 60}),  # expired
        _token(key, **{**good, "aud": "someone-else"}),  # wrong audience
        _token(key, **{**good, "iss": "https://other.test"}),  # wrong issuer
        _token(other, **good),  # signed by a key not in the JWKS
    ):
        rejected = router.http.get("/api/jwt", headers={"authorization": f"Bearer {token}"})
        assert (rejected.status_code, rejected.json()) == (401, {"message": "Unauthorized"})
    assert router.http.get("/api/jwt").status_code == 401


def test_node_rest_token_authorizer(router: Router) -> None:
    """AWS's TOKEN example: callback(null, policy), callback("Unauthorized") -> 401, any other
    callback error -> 500; the context's number and boolean stringified for payload 1.0."""
    allowed = router.http.get("/node/token", headers={"authorization": "allow"})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {"stringKey": "stringval", "numberKey": "123", "booleanKey": "true",
                              "principalId": "user", "integrationLatency": allowed.json()["integrationLatency"]}
    denied = router.http.get("/node/token", headers={"authorization": "deny"})
    assert (denied.status_code, denied.json()) == (
        403, {"message": "User is not authorized to access this resource with an explicit deny"})
    unauthorized = router.http.get("/node/token", headers={"authorization": "unauthorized"})
    assert (unauthorized.status_code, unauthorized.json()) == (401, {"message": "Unauthorized"})
    assert unauthorized.header("x-amzn-errortype") == "UnauthorizedException"
    invalid = router.http.get("/node/token", headers={"authorization": "something else"})
    assert (invalid.status_code, invalid.json()) == (500, {"message": None})
    assert invalid.header("x-amzn-errortype") == "AuthorizerConfigurationException"
    assert router.http.get("/node/token").status_code == 401  # no token: the function is not called
    failed = [i for i in router.invocations("node_token") if not i.ok]
    assert {i.error["errorMessage"] for i in failed} == {"Unauthorized", "Error: Invalid token"}  # type: ignore[index]
    assert {i.error["errorType"] for i in failed} == {"string"}  # type: ignore[index]  # callback("...")


def test_node_rest_request_authorizer(router: Router) -> None:
    """AWS's REQUEST example reads the header as the client spelled it (REST keeps its case) and
    the query string; a wrong value: callback("Unauthorized"), 401. The right ones reach its
    stageVariables.StageVar1, and router has no stage variables (null, as a stage without any):
    the TypeError is an authorizer failure, 500."""
    wrong = router.http.get("/node/request?QueryString1=queryValue1", headers={"HeaderAuth1": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"message": "Unauthorized"})
    right = router.http.get("/node/request?QueryString1=queryValue1", headers={"HeaderAuth1": "headerValue1"})
    assert (right.status_code, right.json()) == (500, {"message": None})
    last = router.invocations("node_request")[-1]
    assert last.error is not None and last.error["errorType"] == "TypeError"
    assert "StageVar1" in last.error["errorMessage"]


def test_node_http_api_simple_and_policy_authorizers(router: Router) -> None:
    """AWS's HTTP API examples (payload 2.0): a simple response and an IAM policy, each with a
    context holding an array and a map, which HTTP API passes on under ``lambda``."""
    context = {"stringKey": "value", "numberKey": 1, "booleanKey": True, "arrayKey": ["value1", "value2"],
               "mapKey": {"value1": "value2"}}  # fmt: skip
    for path in ("/node/simple", "/node/policy"):
        allowed = router.http.get(path, headers={"authorization": "secretToken"})
        assert (allowed.status_code, allowed.json()) == (200, {"lambda": context}), (path, allowed.text)
        denied = router.http.get(path, headers={"authorization": "other"})
        assert (denied.status_code, denied.json()) == (403, {"message": "Forbidden"}), path
        assert router.http.get(path).status_code == 401


def test_authorizer_options_are_checked(tmp_path: Path) -> None:
    base = "functions:\n  f: {handler: f.handler}\ntriggers:\n"
    for trigger, message in (
        ("  - {function: f, http: {route: GET /x, authorizer: {function: nope}}}", "no function named 'nope'"),
        (
            "  - {function: f, http: {route: GET /x, authorizer: {function: f, type: token}}}",
            "token authorizers are REST",
        ),
        ("  - {function: f, http: {route: GET /x, authorizer: {}}}", "either 'function'"),
        (
            "  - {function: f, http: {route: GET /x, authorizer: {jwt: {issuer: i, audience: a, jwks: k.json}}}}",
            "no JWKS file",
        ),
        (
            "  - {function: f, http: {route: GET /x, payload: '1.0',"
            " authorizer: {function: f, simple_response: true}}}",
            "HTTP API",
        ),
        (
            "  - {function: f, http: {route: GET /x, authorizer: {function: f, identity_source: [Authorization]}}}",
            "identity_source 'Authorization'",
        ),
    ):
        with pytest.raises(ConfigError, match=message) as info:
            parse_config(base + trigger, str(tmp_path / "triggers.yaml"), root=tmp_path)
        assert "triggers.yaml:4" in str(info.value)  # the file and line of the trigger
