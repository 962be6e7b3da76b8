"""The examples of the AWS handler pages (../shared/seeds/), run unchanged in real workers."""

from __future__ import annotations

import json

import pytest

from .conftest import Factory, Harness, log_lines

SEED_FUNCTIONS = """
seed_python: {handler: seeds/seed_python.handler}
seed_async: {handler: seeds/seed_async.handler}
hello: {handler: seeds/helloworld.myHandler}
hello_error: {handler: seeds/helloworld_error.myHandler}
hello_async: {handler: seeds/helloworld_async.myHandler}
hello_async_error: {handler: seeds/helloworld_async_error.myHandler}
cb_none: {handler: seeds/callbacks.none}
cb_null: {handler: seeds/callbacks.nullOnly}
cb_success: {handler: seeds/callbacks.success}
cb_error: {handler: seeds/callbacks.error}
"""

FULL_EXAMPLE = {
    "statusCode": 200,
    "body": json.dumps({"message": "Your Lambda function has successfully executed!"}),
}


@pytest.fixture
def seeds(runtimes: Factory) -> Harness:
    return runtimes(SEED_FUNCTIONS)


def test_full_example_python(seeds: Harness) -> None:
    out = seeds.invoke("seed_python", {"any": "event"})
    assert out.ok and out.result == FULL_EXAMPLE
    assert out.result["body"] == '{"message": "Your Lambda function has successfully executed!"}'


def test_full_example_javascript(seeds: Harness) -> None:
    out = seeds.invoke("seed_async", {"any": "event"})
    assert out.ok and out.result["statusCode"] == 200
    # JSON.stringify writes no spaces
    assert out.result["body"] == '{"message":"Your Lambda function has successfully executed!"}'


def test_helloworld_callback_success_and_logs(seeds: Harness) -> None:
    out = seeds.invoke("hello", {"key1": "value1", "key2": "value2", "key3": "value3"})
    assert out.ok and out.result == "some success message"
    lines = log_lines(out)
    assert lines[0].startswith("START RequestId: ")
    logged = [line.split("\t") for line in lines if "\tINFO\t" in line]
    assert [entry[3] for entry in logged] == ["value1 = value1", "value2 = value2"]
    assert all(entry[1] == out.request_id for entry in logged)


def test_helloworld_callback_error_string(seeds: Harness) -> None:
    out = seeds.invoke("hello_error", {"key1": "value1", "key2": "value2"})
    assert out.status == "error"
    assert out.error == {"errorType": "string", "errorMessage": "some error type", "trace": []}
    # "the callback method automatically logs the string representation of non-null errors"
    error_lines = [line for line in log_lines(out) if "\tERROR\t" in line]
    assert len(error_lines) == 1 and "Invoke Error" in error_lines[0]
    assert "some error type" in error_lines[0]


def test_helloworld_async_success(seeds: Harness) -> None:
    out = seeds.invoke("hello_async", {"key1": "value1", "key2": "value2"})
    assert out.ok and out.result == "some success message"
    assert any(line.endswith("\tINFO\tvalue1 = value1") for line in log_lines(out))


def test_helloworld_async_throw(seeds: Harness) -> None:
    out = seeds.invoke("hello_async_error", {"key1": "value1", "key2": "value2"})
    assert out.status == "error"
    assert out.error is not None
    assert out.error["errorType"] == "Error"
    assert out.error["errorMessage"] == "some error type"
    assert out.error["trace"][0] == "Error: some error type"
    assert "helloworld_async_error.js" in out.error["trace"][1]


@pytest.mark.parametrize("function", ["cb_none", "cb_null"])
def test_callback_without_result_is_null(seeds: Harness, function: str) -> None:
    out = seeds.invoke(function, {})
    assert out.ok and out.result is None


def test_callback_with_result(seeds: Harness) -> None:
    out = seeds.invoke("cb_success", {})
    assert out.ok and out.result == "success"


def test_callback_with_error(seeds: Harness) -> None:
    out = seeds.invoke("cb_error", {})
    assert out.status == "error" and out.error is not None
    assert (out.error["errorType"], out.error["errorMessage"]) == ("Error", "something failed")
