"""SAM's API resources (AWS::Serverless::Api, AWS::Serverless::HttpApi, and the implicit ones
Globals configure) as the ``stage``, ``cors`` and ``binary_media_types`` of router's http
triggers, and back. Property names: the AWS SAM specification's Api and HttpApi resources."""

from __future__ import annotations

from typing import Any

from ..schema import CorsConfig

# SAM's implicit REST API's stage is "Prod" (aws-sam-translator implicit_rest_api_plugin); an HTTP API
# without StageName has the "$default" stage (http_api_generator DefaultStageName)
DEFAULT_STAGE = {"Api": "Prod", "HttpApi": "$default"}


def api_settings(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    """{stage, cors, binary_media_types} of one resolved Api or HttpApi (properties over Globals)."""
    out: dict[str, Any] = {"stage": str(props.get("StageName", DEFAULT_STAGE[kind]))}
    cors = props.get("Cors") if kind == "Api" else props.get("CorsConfiguration")
    if cors:
        out["cors"] = _rest_cors(cors) if kind == "Api" else http_cors(cors)
    if kind == "Api" and props.get("BinaryMediaTypes"):
        # SAM writes '/' as '~1' in BinaryMediaTypes (JSON pointer escaping)
        out["binary_media_types"] = [str(t).replace("~1", "/") for t in props["BinaryMediaTypes"]]
    return out


def _unquote(value: Any) -> str:
    """A REST API Cors value is a quoted string ("'*'"): API Gateway's header mapping syntax."""
    return str(value).strip().strip("'")


def _rest_cors(cors: Any) -> dict[str, Any]:
    if not isinstance(cors, dict):  # Cors: "'www.example.com'" -- the origin alone
        return {"allow_origins": [_unquote(cors)]}
    out: dict[str, Any] = {"allow_origins": [_unquote(cors.get("AllowOrigin", "'*'"))]}
    for key, ours in (("AllowMethods", "allow_methods"), ("AllowHeaders", "allow_headers")):
        if key in cors:
            out[ours] = [v.strip() for v in _unquote(cors[key]).split(",") if v.strip()]
    if "MaxAge" in cors:
        out["max_age"] = int(_unquote(cors["MaxAge"]))
    if "AllowCredentials" in cors:
        out["allow_credentials"] = str(cors["AllowCredentials"]).lower() == "true"
    return out


def http_cors(cors: Any) -> dict[str, Any]:
    if not isinstance(cors, dict):  # CorsConfiguration: true -- every origin, method and header
        return {}
    # an HTTP API's CORS configuration: a list not given allows nothing of its kind
    out: dict[str, Any] = {"allow_origins": [], "allow_methods": [], "allow_headers": []}
    for key, ours in (("AllowOrigins", "allow_origins"), ("AllowMethods", "allow_methods"),
                      ("AllowHeaders", "allow_headers"), ("ExposeHeaders", "expose_headers")):  # fmt: skip
        if key in cors:
            out[ours] = [str(v) for v in cors[key]]
    if "MaxAge" in cors:
        out["max_age"] = int(cors["MaxAge"])
    if "AllowCredentials" in cors:
        out["allow_credentials"] = str(cors["AllowCredentials"]).lower() == "true"
    return out


def http_cors_property(c: CorsConfig) -> dict[str, Any]:
    """router's cors as an HttpApi's CorsConfiguration."""
    out: dict[str, Any] = {"AllowOrigins": list(c.allow_origins), "AllowMethods": list(c.allow_methods),
                           "AllowHeaders": list(c.allow_headers)}  # fmt: skip
    if c.expose_headers:
        out["ExposeHeaders"] = list(c.expose_headers)
    if c.max_age is not None:
        out["MaxAge"] = c.max_age
    if c.allow_credentials:
        out["AllowCredentials"] = True
    return out


def rest_cors_property(c: CorsConfig) -> dict[str, Any] | None:
    """router's cors as an Api's Cors (one origin only: SAM's AllowOrigin is one value), or None."""
    if len(c.allow_origins) != 1 or c.expose_headers:
        return None
    out: dict[str, Any] = {"AllowOrigin": f"'{c.allow_origins[0]}'", "AllowMethods": f"'{','.join(c.allow_methods)}'",
                           "AllowHeaders": f"'{','.join(c.allow_headers)}'"}  # fmt: skip
    if c.max_age is not None:
        out["MaxAge"] = f"'{c.max_age}'"
    if c.allow_credentials:
        out["AllowCredentials"] = True
    return out
