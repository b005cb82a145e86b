"""The webhook contract (docs/backoffice.openapi.yaml) checked from both sides: schemathesis generates
signed requests from the OpenAPI file against the example back office (a real subprocess on loopback)
and validates every answer against it; and the requests our webhook client really sends validate
against the file's Task schema."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import jsonschema_rs
import pytest
import requests
import schemathesis
import yaml
from schemathesis.core import NotSet

from bot.wiring import open_services, shell_chat
from tests.fakes.backoffice import EXAMPLE, SECRET, ExampleBackOffice
from tests.support import free_port
from workflows.backoffice.signing import signature

OPENAPI = Path(__file__).resolve().parents[1] / "docs" / "backoffice.openapi.yaml"
PORT = free_port()
schema = schemathesis.openapi.from_path(OPENAPI)
schema.config.update(base_url=f"http://127.0.0.1:{PORT}")
# Valid requests only: an example receiver is free to be lenient about malformed ones (their refusal is
# tested below and in examples/backoffice); what it must get right is the answer to every valid task.
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE])


@pytest.fixture(scope="module")
def example_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("contract") / "backoffice.db"
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", str(PORT), "--db", str(db), "--secret", SECRET],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        deadline = time.monotonic() + 20
        while True:  # until it answers (or exited, or the deadline passed)
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the example back office did not start"
                subprocess.run([sys.executable, "-c", "import time; time.sleep(0.1)"], check=True)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
@schema.parametrize()
@hypothesis.settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_the_example_back_office_answers_as_the_openapi_file_says(case: schemathesis.Case, example_server: str) -> None:
    body = b"" if isinstance(case.body, NotSet) else json.dumps(case.body).encode()
    timestamp = str(int(time.time()))
    headers = {**(case.headers or {}), "Content-Type": "application/json"}
    # The generated security headers get valid values; a header the case leaves out (a negative case) stays out.
    if "X-Supportbot-Timestamp" in headers:
        headers["X-Supportbot-Timestamp"] = timestamp
    if "X-Supportbot-Signature" in headers:
        headers["X-Supportbot-Signature"] = signature(SECRET, headers.get("X-Supportbot-Timestamp", ""), body)
    response = requests.request(
        case.method, f"{example_server}{case.formatted_path}", data=body, headers=headers, timeout=10
    )
    case.validate_response(response, headers=headers)


@pytest.mark.slow
def test_an_unsigned_or_replayed_request_is_refused(example_server: str) -> None:
    body = json.dumps(
        {
            "kind": "status",
            "params": {"order_id": "W-40001"},
            "case_ref": "STS-1",
            "customer": {"platform": "shell", "id": "u"},
            "conversation": {"id": "1"},
            "idempotency_key": "k-replay",
        }
    ).encode()
    old = str(int(time.time()) - 3600)
    for headers in ({}, {"X-Supportbot-Timestamp": old, "X-Supportbot-Signature": signature(SECRET, old, body)}):
        response = requests.post(f"{example_server}/tasks", data=body, headers=headers, timeout=10)
        assert response.status_code == 401


async def test_what_our_webhook_sends_is_a_task_of_the_openapi_file(make_settings: object, tmp_path: Path) -> None:
    doc = yaml.safe_load(OPENAPI.read_text())
    validator = jsonschema_rs.validator_for({"$ref": "#/components/schemas/Task", "components": doc["components"]})
    async with ExampleBackOffice(tmp_path / "bo.db") as example:
        settings = make_settings(
            SUPPORTBOT_BACKOFFICE="webhook",
            SUPPORTBOT_BACKOFFICE_URL=example.url,  # type: ignore[operator]
            SUPPORTBOT_BACKOFFICE_SECRET=SECRET,
        )
        async with open_services(settings) as services:
            await shell_chat(services).send(
                "Invoice INV-1234 charged me twice. I'd like to return my Acme Kettle, "
                "it leaks. And where is my order #W-40003?"
            )
    assert sorted(r.json["kind"] for r in example.received) == ["billing", "return", "status"]
    for request in example.received:
        validator.validate(request.json)
        assert request.status == 200
