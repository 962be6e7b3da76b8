"""A resolved serverless.yml as a triggers.yaml mapping (router's own config models read it).

Keys and defaults from the Serverless Framework v3 docs ("AWS - Functions", "AWS - Events"):
memorySize 1024 and timeout 6 unless set; a ``stream`` event's batchSize 10 and startingPosition
TRIM_HORIZON; an ``http`` event is a REST API (payload 1.0) served under the stage, as
serverless-offline does unless ``noPrependStageInUrl``; an ``httpApi`` event is payload 2.0 unless
``provider.httpApi.payload`` says 1.0. ``origin`` maps each path made to the serverless.yml path it
came from (for positions and error labels).
"""

from __future__ import annotations

from typing import Any

from .._yaml import Path_
from ..templates.intrinsics import Unresolvable, resolve
from .cfn import Built, arn_name
from .loader import mapping

# events router has no source for (Serverless docs, "AWS - Events")
NOT_EMULATED_EVENTS = ("websocket", "alb", "cognitoUserPool", "alexaSkill", "alexaSmartHome", "iot",
                       "iotFleetProvisioning", "cloudwatchLog", "cloudFront", "msk", "activemq", "rabbitmq",
                       "kafka", "kinesis")  # fmt: skip
# the Framework's defaults: functionInfoUtils getMemorySize (function, provider, else 1024) and getTimeout (... 6)
_MEMORY, _TIMEOUT = 1024, 6


class Translator:
    def __init__(self, data: dict[str, Any], built: Built, stage: str, region: str) -> None:
        self.data, self.built, self.stage, self.region = data, built, stage, region
        self.provider = mapping(data.get("provider"))
        custom = mapping(data.get("custom"))
        self.offline = mapping(custom.get("serverless-offline"))
        self.router = mapping(custom.get("router"))
        self.origin: dict[Path_, Path_] = {}
        self.problems: list[tuple[Path_, str]] = []
        self.skipped: list[str] = []
        self.functions: dict[str, Any] = {}
        self.triggers: list[dict[str, Any]] = []
        self.resources: dict[str, Any] = built.resources

    def run(self) -> dict[str, Any]:
        self.origin[("settings",)] = ("provider",)
        if self.provider.get("name", "aws") != "aws":
            name = self.provider["name"]
            self.problems.append((("provider", "name"), f"router runs AWS services only, not {name!r}"))
        fns = self.data.get("functions")
        if isinstance(fns, dict):
            for name, fn in fns.items():
                if isinstance(fn, dict):
                    self.function(str(name), fn)
                else:
                    self.problems.append((("functions", name), "expected a mapping with 'handler'"))
        elif fns is not None:
            self.problems.append((("functions",), "expected a mapping of functions"))
        return {"settings": self.settings(), "functions": self.functions, "resources": self.resources,
                "triggers": self.triggers}  # fmt: skip

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in (self.router.get("settings") or {}).items()}
        out.setdefault("region", self.region)
        http = dict(out.get("http") or {})
        for src, dst in (("httpPort", "port"), ("host", "host")):  # serverless-offline's options
            if src in self.offline:
                http[dst] = self.offline[src]
                self.origin[("settings", "http", dst)] = ("custom", "serverless-offline", src)
        if http:
            out["http"] = http
        return out

    # ---------------------------------------------------------------- functions

    def function(self, name: str, fn: dict[str, Any]) -> None:
        src: Path_ = ("functions", name)
        if "image" in fn and "handler" not in fn:
            self.skipped.append(f"functions.{name} (a container image function)")
            return
        p = self.provider
        out: dict[str, Any] = {"handler": fn.get("handler")}
        for key, dst, default in (("runtime", "runtime", None), ("memorySize", "memory", _MEMORY),
                                  ("timeout", "timeout", _TIMEOUT)):  # fmt: skip
            value = fn.get(key, p.get(key, default))
            if value is not None:
                out[dst] = value
                self.origin[("functions", name, dst)] = (*src, key) if key in fn else ("provider", key)
        env = {**(p.get("environment") or {}), **(fn.get("environment") or {})}
        if env:
            out["environment"] = {k: self.cfn(v, (*src, "environment", k)) for k, v in env.items()}
        if fn.get("reservedConcurrency") is not None:
            out["concurrency"] = fn["reservedConcurrency"]
            self.origin[("functions", name, "concurrency")] = (*src, "reservedConcurrency")
        out["async"] = self.async_(fn, src)
        self.functions[name] = out
        self.origin[("functions", name)] = src
        for i, event in enumerate(fn.get("events") or []):
            self.event(name, event, (*src, "events", i))

    def async_(self, fn: dict[str, Any], src: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        name = src[-1]
        for key, dst in (("maximumRetryAttempts", "retries"), ("maximumEventAge", "max_event_age")):
            if fn.get(key) is not None:
                out[dst] = fn[key]
                self.origin[("functions", name, "async", dst)] = (*src, key)
        dests = fn.get("destinations") or {}
        for key, dst in (("onSuccess", "on_success"), ("onFailure", "on_failure")):
            if isinstance(dests, dict) and dests.get(key) is not None:
                out[dst] = self.destination(dests[key], (*src, "destinations", key))
                self.origin[("functions", name, "async", dst)] = (*src, "destinations", key)
        return out

    def destination(self, value: Any, src: Path_) -> dict[str, Any] | None:
        """A function of this service, or an ARN (string, intrinsic, or {type, arn}) of a queue,
        topic, bus or function."""
        if isinstance(value, dict) and "arn" in value:
            value = value["arn"]
        value = self.cfn(value, src)
        if not isinstance(value, str):
            return None
        if not value.startswith("arn:"):
            return {"function": value}
        for service, key in (("sqs", "queue"), ("sns", "topic"), ("events", "bus"), ("lambda", "function")):
            if (found := arn_name(value, service)) is not None:
                return {key: found}
        self.problems.append((src, f"{value!r}: router sends records to a queue, topic, bus or function ARN"))
        return None

    def cfn(self, value: Any, src: Path_) -> Any:
        try:
            return resolve(value, self.built.ctx)
        except Unresolvable as exc:
            self.problems.append((src, str(exc)))
            return None

    # ---------------------------------------------------------------- events

    def event(self, fn: str, event: Any, src: Path_) -> None:
        from . import events

        if not isinstance(event, dict) or len(event) != 1:
            self.problems.append((src, "an event is a mapping with one key (http, httpApi, schedule, ...)"))
            return
        (kind, spec), = event.items()
        handler = getattr(events, f"ev_{kind}", None)
        if kind in NOT_EMULATED_EVENTS or handler is None:
            self.skipped.append(f"{_label(src)} ({kind})")
            return
        for made in handler(self, spec, (*src, kind)) or []:
            if made is None:
                continue
            index = len(self.triggers)
            keys: dict[Path_, Path_] = made.pop("__origin", {})
            self.triggers.append({"function": fn, **made})
            self.origin[("triggers", index)] = (*src, kind)
            for key, where in keys.items():
                self.origin[("triggers", index, *key)] = where


def _label(path: Path_) -> str:
    from .._yaml import format_path

    return format_path(path)
