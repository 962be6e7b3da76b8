"""The AWS SDK for JavaScript v3 for Node.js handlers, as Lambda's Node.js runtimes include it:
the project's node_modules first, else router's copy, installed once with npm into a per-user
cache (router/runtimes/node_sdk.py), its clients pointed at the embedded AWS."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from router.config import parse_config
from router.runtimes import Runtimes
from router.runtimes.node_sdk import cache_dir, missing_package, node_path

from .conftest import FIXTURES


@pytest.mark.parametrize(
    ("message", "package"),
    [("Cannot find module '@aws-sdk/client-s3'\nRequire stack:\n- /code/a.js", "@aws-sdk/client-s3"),
     ("Cannot find package '@aws-sdk/lib-dynamodb' imported from /code/a.mjs", "@aws-sdk/lib-dynamodb"),
     ("Cannot find module '@aws-sdk/client-s3/dist-cjs/index.js'", "@aws-sdk/client-s3"),
     ("Cannot find module 'left-pad'", None),
     ("Cannot find module './helpers'", None)],
)  # fmt: skip
def test_the_missing_sdk_package_is_read_from_the_init_error(message: str, package: str | None) -> None:
    assert missing_package({"errorType": "Runtime.ImportModuleError", "errorMessage": f"Error: {message}"}) == package
    assert missing_package({"errorType": "TypeError", "errorMessage": message}) is None


def test_the_cache_is_per_user_and_on_node_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ROUTER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "router" / "node-aws-sdk"
    monkeypatch.setenv("ROUTER_CACHE_DIR", str(tmp_path / "mine"))
    assert node_path() == str(tmp_path / "mine" / "node-aws-sdk" / "node_modules")


@pytest.fixture(scope="session")
def sdk_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache for the session: npm installs the client once."""
    path = tmp_path_factory.mktemp("router-cache")
    before = os.environ.get("ROUTER_CACHE_DIR")
    os.environ["ROUTER_CACHE_DIR"] = str(path)
    yield path
    if before is None:
        del os.environ["ROUTER_CACHE_DIR"]
    else:
        os.environ["ROUTER_CACHE_DIR"] = before


def _config(tmp_path: Path, code: Path) -> Any:
    spec = "{{handler: node_sdk/{}.handler, code: {}, runtime: {}, timeout: 30}}"
    functions = "".join(f"  {name}: {spec.format(name, code, runtime)}\n"
                        for name, runtime in (("s3", "nodejs22.x"), ("s3esm", "nodejs24.x"),
                                              ("missing", "nodejs22.x"), ("lazy", "nodejs22.x")))  # fmt: skip
    text = ("settings: {state_dir: state, aws: {port: 0}}\nresources: {buckets: [sdk-bucket]}\n"
            f"functions:\n{functions}")  # fmt: skip
    return parse_config(text, "triggers.yaml", root=tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_handlers_use_the_sdk_against_the_embedded_aws(
    sdk_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code = tmp_path / "code"  # no node_modules anywhere above the handlers
    shutil.copytree(FIXTURES / "node_sdk", code / "node_sdk")
    config = _config(tmp_path, code)

    async def main() -> None:
        from router.aws import Aws

        async with AsyncExitStack() as stack:
            aws = Aws(config)
            await aws.start(stack)
            runtimes = Runtimes(config, env=aws.worker_env(), hot_reload=False)
            await runtimes.start(stack)
            out = await runtimes.invoke("s3", {"bucket": "sdk-bucket"})
            assert out.ok, out.error
            assert out.result["body"] == "written by CommonJS"
            assert out.result["from"].startswith(str(sdk_cache / "node-aws-sdk" / "node_modules"))
            got = await asyncio.to_thread(aws.client("s3").get_object, Bucket="sdk-bucket", Key="cjs.txt")
            assert got["Body"].read() == b"written by CommonJS"  # in the embedded S3
            out = await runtimes.invoke("s3esm", {"bucket": "sdk-bucket"})
            assert out.ok and out.result == {"keys": ["cjs.txt"]}, out.error
            lazy = await runtimes.invoke("lazy", {})  # required while it runs: installed after this call
            assert lazy.error is not None and "'@aws-sdk/util-dynamodb'" in lazy.error["errorMessage"]
            lazy = await runtimes.invoke("lazy", {})  # a new worker finds it now
            assert lazy.ok and lazy.result == {"n": {"N": "1"}}, lazy.error

    with caplog.at_level(logging.WARNING, logger="router.runtimes.node_sdk"):
        asyncio.run(main())
    installs = [r.getMessage() for r in caplog.records if "installing it once with npm" in r.getMessage()]
    assert sum("@aws-sdk/client-s3" in line for line in installs) == 1  # once, for both functions
    assert sum("@aws-sdk/util-dynamodb" in line for line in installs) == 1


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_offline_the_import_error_stands_and_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ROUTER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")  # nothing listens there
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    config = _config(tmp_path, FIXTURES)

    async def main() -> None:
        async with AsyncExitStack() as stack:
            runtimes = Runtimes(config, env={"AWS_EC2_METADATA_DISABLED": "true"}, hot_reload=False)
            await runtimes.start(stack)
            together = await asyncio.gather(*(runtimes.invoke("missing", {}) for _ in range(2)))  # one npm
            for out in [*together, await runtimes.invoke("missing", {})]:
                assert out.error is not None and out.error["errorType"] == "Runtime.ImportModuleError"
                assert "Cannot find module '@aws-sdk/client-sqs'" in out.error["errorMessage"]

    with caplog.at_level(logging.WARNING, logger="router.runtimes.node_sdk"):
        asyncio.run(main())
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1  # tried once, not at every invocation
    assert "could not install @aws-sdk/client-sqs with npm" in failures[0]
    assert "npm install @aws-sdk/client-sqs" in failures[0]
