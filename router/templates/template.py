"""Translate a SAM or CloudFormation template into triggers.yaml's data (the same models every
config goes through: router.config validates what this returns)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _yaml
from ..errors import ConfigIssue
from . import events as ev
from .apis import api_settings
from .auth import api_auth, unrun
from .functions import LAYERS, declare_layer, function_entry, function_layers, invoke_config, merge_globals, url_trigger
from .intrinsics import Context, Unresolvable, line_of, resolve
from .parameters import given_values, problem, typed
from .resources import FUNCTIONS, STORES, arn_target, declare, stack_name, store_entry

logger = logging.getLogger(__name__)

# read for what they tell about others, or nothing router needs: no "not emulated" line
_QUIET = {"AWS::Lambda::Permission", "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
          "AWS::Logs::LogGroup", "AWS::CDK::Metadata", "AWS::Lambda::Version", "AWS::Lambda::Alias",
          "AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy",
          "AWS::S3::BucketPolicy", "AWS::Lambda::EventSourceMapping", "AWS::Events::Rule",
          "AWS::Scheduler::Schedule", "AWS::SNS::Subscription", "AWS::Lambda::EventInvokeConfig",
          "AWS::Serverless::Connector", "Custom::S3BucketNotifications", "AWS::Lambda::Url"}  # fmt: skip
_HANDLED = (*STORES, *FUNCTIONS, *LAYERS, "AWS::Serverless::Api", "AWS::Serverless::HttpApi")


@dataclass
class Translation:
    """A template as triggers.yaml data, where its values came from, and what it holds that
    router does not emulate."""

    file: str
    data: dict[str, Any] = field(default_factory=dict)
    positions: _yaml.Positions = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    issues: list[ConfigIssue] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # logical id -> AWS name of each store


_TOP_RESOURCES = re.compile(r"^Resources\s*:", re.MULTILINE)


def looks_like_template(text: str) -> bool:
    """A template (SAM or plain CloudFormation, YAML or JSON) rather than a triggers.yaml: a
    top-level Resources key and AWS:: types (a triggers.yaml's keys are lower case)."""
    if "AWS::" not in text:
        return False
    if text.lstrip().startswith("{"):
        return '"Resources"' in text
    return _TOP_RESOURCES.search(text) is not None


def translate(text: str, file: str, root: Path, *, parameters: dict[str, Any] | None = None, stack: str | None = None,
              region: str = "us-east-1", account: str = "123456789012") -> Translation:
    """The template ``text`` (of ``file``, in the folder ``root``) as triggers.yaml data."""
    from cfnlint.decode import decode_str  # short-form tags, line numbers

    out = Translation(file)
    template, matches = decode_str(text)
    if matches or not isinstance(template, dict):
        for m in matches or []:
            out.issues.append(ConfigIssue(f"cannot read the template: {m.message}", "", file,
                                          m.linenumber, m.columnnumber))  # fmt: skip
        if not out.issues:
            out.issues.append(ConfigIssue("expected a template (a mapping with Resources)", "", file, 1, 1))
        return out
    ctx = Context(region, account, stack or stack_name(root.name))
    _T(out, template, ctx, root).run(given_values(root, parameters or {}))
    return out


class _T:
    """One translation's working state."""

    def __init__(self, out: Translation, template: dict[str, Any], ctx: Context, root: Path) -> None:
        self.out, self.t, self.ctx, self.root = out, template, ctx, root
        self.data: dict[str, Any] = {"settings": {}, "functions": {}, "resources": {}, "triggers": []}
        self.resources: dict[str, Any] = {}
        self.apis: dict[str, Any] = {}
        self.layers: dict[str, str | None] = {}  # layer version ARN -> its folder (None: not local)

    def issue(self, message: str, node: Any, fallback: Any = None, path: str = "") -> None:
        line, col = line_of(node)
        if not line:
            line, col = line_of(fallback)
        self.out.issues.append(ConfigIssue(message, path, self.out.file, line, col))

    def run(self, given: dict[str, Any]) -> None:
        self._settings()
        self._parameters(given)
        self.ctx.mappings = dict(self.t.get("Mappings") or {})
        self.ctx.conditions = dict(self.t.get("Conditions") or {})
        resources = self.t.get("Resources")
        if not isinstance(resources, dict) or not resources:
            self.issue("a template has a Resources mapping with at least one resource", self.t)
            return
        for logical, res in resources.items():
            if str(logical).startswith("Fn::ForEach::"):  # AWS::LanguageExtensions' loops: not expanded
                self.out.notes.append(f"not emulated: {logical} (AWS::LanguageExtensions)")
                continue
            if not isinstance(res, dict) or not isinstance(res.get("Type"), str):
                self.issue("a resource is a mapping with a Type", res, logical, f"Resources.{logical}")
                continue
            if not self._wanted(logical, res):
                continue
            if res["Type"] in _HANDLED:
                self.resources[logical] = res
            else:
                self.ctx.unemulated[logical] = res["Type"]
                if res["Type"] not in _QUIET:
                    self.out.notes.append(f"not emulated: {logical} ({res['Type']})")
                elif res["Type"] not in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
                    self.resources[logical] = res
        self._declare()
        self._read()
        self.out.notes.extend(unrun(self.data["triggers"], self.data["functions"]))
        self.out.data = {k: v for k, v in self.data.items() if v}

    def _settings(self) -> None:
        """Router's own settings for a bare template: ``Metadata: {router: {settings: ...}}`` (a
        template's Metadata is free-form: CloudFormation and SAM ignore the key)."""
        meta = self.t.get("Metadata")
        found = meta.get("router") if isinstance(meta, dict) else None
        if found is None:
            return
        if not isinstance(found, dict) or set(found) - {"settings"}:
            self.issue("Metadata.router holds only 'settings' (triggers.yaml's settings)", found, meta,
                       "Metadata.router")  # fmt: skip
            return
        settings = found.get("settings") or {}
        self.data["settings"] = settings
        self.ctx.region = str(settings.get("region", self.ctx.region))
        self.ctx.account = str(settings.get("account", self.ctx.account))

    def _wanted(self, logical: str, res: dict[str, Any]) -> bool:
        """False for a resource whose Condition is false."""
        if "Condition" not in res:
            return True
        try:
            return self.ctx.condition(str(res["Condition"]), res["Condition"])
        except Unresolvable as exc:
            self.issue(str(exc), exc.node, res, f"Resources.{logical}.Condition")
            return False

    def _parameters(self, given: dict[str, Any]) -> None:
        declared = self.t.get("Parameters") or {}
        for key in given:
            if key not in declared:
                self.issue(f"--param {key}: the template declares no parameter {key!r}", None, declared)
        for name, spec in declared.items():
            spec = spec if isinstance(spec, dict) else {}
            value = given.get(name, spec.get("Default"))
            where = f"Parameters.{name}"
            if value is None:
                self.issue(f"parameter {name} has no Default: give it with --param {name}=VALUE "
                           "(or parameters: in the API)", name, spec, where)  # fmt: skip
                value = ""  # reported once, here: not again at each Ref
            elif (why := problem(name, spec, value)) is not None:
                self.issue(why, name, spec, where)
            self.ctx.parameters[name] = typed(spec, value)

    def _declare(self) -> None:
        for logical, res in self.resources.items():
            try:
                if res["Type"] in LAYERS:
                    self._layer(logical, res)
                else:
                    declare(self.ctx, logical, res["Type"], res.get("Properties") or {})
            except Unresolvable as exc:
                self.issue(str(exc), exc.node, res, f"Resources.{logical}")
        for logical, res in self.resources.items():  # after every declaration: Auth names functions
            if res["Type"] in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
                self._api(res["Type"].split("::")[-1], logical, res.get("Properties") or {}, res)
        for kind in ("Api", "HttpApi"):  # SAM's implicit APIs: Globals only
            self._api(kind, "", {}, self.t.get("Globals"))

    def _layer(self, logical: str, res: dict[str, Any]) -> None:
        arn, folder, note = declare_layer(self.ctx, logical, res["Type"], res.get("Properties") or {},
                                          res.get("Metadata") or {})  # fmt: skip
        self.layers[arn] = folder
        if note:
            self.out.notes.append(f"not emulated: {logical} {note}" if folder else
                                  f"not emulated: {logical} ({res['Type']}: {note})")  # fmt: skip

    def _api(self, kind: str, logical: str, props: dict[str, Any], node: Any) -> None:
        glob = (self.t.get("Globals") or {}).get(kind) or {}
        try:
            resolved = resolve(merge_globals(props, glob), self.ctx)
            meta = node.get("Metadata") if logical and isinstance(node, dict) else None
            self.apis[f"{kind}:{logical}"] = {**api_settings(kind, resolved), "auth": api_auth(kind, resolved, meta)}
        except Unresolvable as exc:
            self.issue(str(exc), exc.node, node, f"Resources.{logical}" if logical else f"Globals.{kind}")
        except (TypeError, ValueError, AttributeError) as exc:
            self.issue(f"cannot read this {kind}'s stage and CORS settings: {exc}", node, None,
                       f"Resources.{logical}" if logical else f"Globals.{kind}")  # fmt: skip

    def _read(self) -> None:
        glob = (self.t.get("Globals") or {}).get("Function") or {}
        providers = _providers(self.t.get("Resources") or {})
        # functions and stores first: the CloudFormation forms of events and invoke configs name them
        ordered = sorted(self.resources.items(), key=lambda item: item[1]["Type"] not in (*STORES, *FUNCTIONS))
        for logical, res in ordered:
            kind, props = res["Type"], res.get("Properties") or {}
            if logical in providers:  # a custom resource's provider (CDK's notifications handler ...): not app code
                continue
            try:
                if kind in STORES:
                    self._store(logical, kind, props, res)
                elif kind in FUNCTIONS:
                    self._function(logical, kind, merge_globals(props, glob) if "Serverless" in kind else props, res)
                else:
                    self._equivalent(logical, kind, props, res)
            except Unresolvable as exc:
                self.issue(str(exc), exc.node, res, f"Resources.{logical}")
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                self.issue(f"cannot read this {kind}: {_why(exc)}", res, None, f"Resources.{logical}")

    def _store(self, logical: str, kind: str, props: dict[str, Any], res: Any) -> None:
        section, name, entry = store_entry(self.ctx, logical, kind, props)
        self.out.names[logical] = name
        if section in ("buckets", "buses"):
            self.data["resources"].setdefault(section, []).append(name)
        else:
            self.data["resources"].setdefault(section, {})[name] = entry
            self.out.positions[("resources", section, name)] = line_of(res)
        if kind == "AWS::DynamoDB::Table":
            self._table_notes(logical, resolve(props, self.ctx))
        if kind == "AWS::S3::Bucket":
            self._notifications(logical, resolve(props.get("NotificationConfiguration") or {}, self.ctx), res, name)
        if kind == "AWS::SNS::Topic":
            for i, sub in enumerate(resolve(props.get("Subscription") or [], self.ctx)):
                if str(sub.get("Protocol")) == "lambda":
                    fn = arn_target(sub.get("Endpoint"), res)[1]
                    self._trigger(f"{logical}Subscription{i}", {"function": fn, "sns": {"topic": name}}, res)

    def _table_notes(self, logical: str, props: dict[str, Any]) -> None:
        if props.get("LocalSecondaryIndexes"):
            self.out.notes.append(f"not emulated: {logical} LocalSecondaryIndexes (the table is made without them)")
        for index in props.get("GlobalSecondaryIndexes") or []:
            projection = (index.get("Projection") or {}).get("ProjectionType", "ALL")
            if projection != "ALL":
                self.out.notes.append(f"not emulated: {logical} index {index.get('IndexName')} projection "
                                      f"{projection} (every attribute is projected)")  # fmt: skip

    def _notifications(self, logical: str, conf: dict[str, Any], res: Any, bucket: str) -> None:
        for i, c in enumerate(conf.get("LambdaConfigurations") or []):
            s3: dict[str, Any] = {"bucket": bucket, "events": [c["Event"]]}
            ev.key_filter(s3, c.get("Filter"))
            self._trigger(f"{logical}Notification{i}", {"function": arn_target(c["Function"], res)[1], "s3": s3}, res)
        for key in ("QueueConfigurations", "TopicConfigurations", "EventBridgeConfiguration"):
            if conf.get(key):
                self.out.notes.append(f"not emulated: {logical} NotificationConfiguration.{key}")

    def _function(self, logical: str, kind: str, props: dict[str, Any], res: Any) -> None:
        inline = self.root / ".router" / "inline"
        entry, why = function_entry(self.ctx, logical, kind, props, res.get("Metadata") or {}, self.root, inline)
        if entry is None:
            self.out.notes.append(f"not emulated: {logical} ({kind}: {why})")
            return
        self.data["functions"][logical] = entry
        self.out.positions[("functions", logical)] = line_of(res)
        if props.get("VpcConfig"):
            self.out.notes.append(f"not emulated: {logical} VpcConfig (no network isolation)")
        folders, missing = function_layers(self.ctx, props.get("Layers"), self.layers)
        if folders:
            entry["layers"] = folders
        for arn in missing:
            self.out.notes.append(f"not emulated: {logical} layer {arn} (not a layer of this template with its "
                                  "content here: the function runs without it)")  # fmt: skip
        if url := props.get("FunctionUrlConfig"):
            self._url(f"{logical}Url", logical, resolve(url, self.ctx), url)
        for key in props:
            ours = _FUNCTION_KEYS.get(str(key))
            if ours:
                self.out.positions[("functions", logical, ours)] = line_of(key)
        for name, event in (props.get("Events") or {}).items():
            etype = str(event.get("Type"))
            if etype not in ev._SAM:
                self.out.notes.append(f"not emulated: {logical}.Events.{name} ({etype})")
                continue
            try:
                trigger = ev.sam_event(self.ctx, logical, etype, event.get("Properties") or {}, self.apis)
            except Unresolvable as exc:
                self.issue(str(exc), exc.node, event, f"Resources.{logical}.Events.{name}")
                continue
            except KeyError as exc:
                self.issue(f"a {etype} event needs {exc}", event, None, f"Resources.{logical}.Events.{name}")
                continue
            for note in trigger.pop("notes", []):  # an Auth router does not run
                self.out.notes.append(f"not emulated: {logical}.Events.{name} {note}")
            if (event.get("Properties") or {}).get("SqsSubscription"):
                self.out.notes.append(f"not emulated: {logical}.Events.{name} SqsSubscription (the topic "
                                      "invokes the function directly)")  # fmt: skip
            # SAM's generated resources' ids: function id + event id (aws-sam-translator sam_resources.py)
            self._trigger(f"{logical}{name}", trigger, event)

    def _url(self, name: str, function: str, cfg: Any, node: Any) -> None:
        """A function URL: SAM names its AWS::Lambda::Url FUNCTIONUrl (aws-sam-translator,
        sam_resources.py _construct_function_url); router's trigger takes the same name."""
        trigger, notes = url_trigger(function, cfg if isinstance(cfg, dict) else {})
        self.out.notes.extend(f"not emulated: {name} {note}" for note in notes)
        self._trigger(name, trigger, node)

    def _trigger(self, name: str, trigger: dict[str, Any], node: Any) -> None:
        i = len(self.data["triggers"])
        self.data["triggers"].append({"name": name, **trigger})
        kind = next((k for k in trigger if k not in ("function", "enabled", "name")), "")
        for loc in (("triggers", i), ("triggers", i, kind)):
            self.out.positions[loc] = line_of(node)

    def _equivalent(self, logical: str, kind: str, props: dict[str, Any], res: Any) -> None:
        """The plain-CloudFormation forms of SAM's events."""
        p = resolve(props, self.ctx)
        if kind == "AWS::Lambda::EventSourceMapping":
            source, name = arn_target(p["EventSourceArn"], res)
            if source not in ("stream", "queue"):
                self.out.notes.append(f"not emulated: {logical} ({kind} from {p['EventSourceArn']})")
                return
            fn = arn_target(p["FunctionName"], res)[1]
            trigger = ev.mapping(p, "dynamodb" if source == "stream" else "sqs", name, res)
            self._trigger(logical, {"function": fn, **trigger}, res)
        elif kind == "AWS::Events::Rule":
            self._rule(logical, p, res)
        elif kind == "AWS::Scheduler::Schedule":
            target = p["Target"]
            sched = ev._schedule(self.ctx, {**p, **({"Input": target["Input"]} if "Input" in target else {})}, res, {})
            self._trigger(logical, {"function": arn_target(target["Arn"], res)[1], **sched}, res)
        elif kind == "AWS::SNS::Subscription" and str(p.get("Protocol")) == "lambda":
            sns = ev._sns(self.ctx, {**p, "Topic": p["TopicArn"]}, res, {})
            self._trigger(logical, {"function": arn_target(p["Endpoint"], res)[1], **sns}, res)
        elif kind == "Custom::S3BucketNotifications":
            self._cdk_notifications(logical, p, res)
        elif kind == "AWS::Lambda::Url":
            self._url(logical, arn_target(p["TargetFunctionArn"], res)[1], p, res)
        elif kind == "AWS::Lambda::EventInvokeConfig":
            fn = arn_target(p["FunctionName"], res)[1]
            if fn in self.data["functions"]:
                self.data["functions"][fn]["async"] = invoke_config(self.ctx, p, res)

    def _cdk_notifications(self, logical: str, p: dict[str, Any], res: Any) -> None:
        """CDK's bucket notifications: a custom resource carrying PutBucketNotificationConfiguration's
        request (LambdaFunctionConfigurations: Events, LambdaFunctionArn, Filter.Key.FilterRules)."""
        conf = p.get("NotificationConfiguration") or {}
        for i, c in enumerate(conf.get("LambdaFunctionConfigurations") or []):
            s3: dict[str, Any] = {"bucket": p["BucketName"], "events": list(c["Events"])}
            for rule in ((c.get("Filter") or {}).get("Key") or {}).get("FilterRules", []):
                s3[str(rule["Name"]).lower()] = rule["Value"]
            self._trigger(f"{logical}{i}", {"function": arn_target(c["LambdaFunctionArn"], res)[1], "s3": s3}, res)
        for key in ("QueueConfigurations", "TopicConfigurations", "EventBridgeConfiguration"):
            if key in conf:
                self.out.notes.append(f"not emulated: {logical} NotificationConfiguration.{key}")

    def _rule(self, logical: str, p: dict[str, Any], res: Any) -> None:
        for target in p.get("Targets") or []:
            kind, fn = arn_target(target["Arn"], res)
            if kind != "function":
                self.out.notes.append(f"not emulated: {logical} target {target.get('Id')} ({kind})")
                continue
            name = f"{logical}{target.get('Id', '')}"
            if "ScheduleExpression" in p:
                sched = ev._schedule(self.ctx, {**p, **{k: target[k] for k in ("Input",) if k in target}}, res, {})
                self._trigger(name, {"function": fn, **sched}, res)
            else:
                pattern = ev.as_json(p["EventPattern"])
                rule = ev._rule(self.ctx, {**p, "Pattern": pattern, **target}, res, {})
                self._trigger(name, {"function": fn, **rule}, res)


# the function properties whose position a bad value is reported at
_FUNCTION_KEYS = {"Handler": "handler", "Runtime": "runtime", "Timeout": "timeout", "MemorySize": "memory",
                  "Environment": "environment", "ReservedConcurrentExecutions": "concurrency",
                  "CodeUri": "code", "EventInvokeConfig": "async", "LoggingConfig": "logging",
                  "Layers": "layers"}  # fmt: skip


def _providers(resources: dict[str, Any]) -> set[str]:
    """The functions custom resources name as their ServiceToken (CloudFormation's providers)."""
    found = set()
    for res in resources.values():
        if isinstance(res, dict) and (str(res.get("Type", "")).startswith("Custom::")
                                      or res.get("Type") == "AWS::CloudFormation::CustomResource"):  # fmt: skip
            token = (res.get("Properties") or {}).get("ServiceToken")
            if isinstance(token, dict) and isinstance(token.get("Fn::GetAtt"), list):
                found.add(str(token["Fn::GetAtt"][0]))
    return found


def _why(exc: BaseException) -> str:
    return f"{exc} is required" if isinstance(exc, KeyError) else str(exc)
