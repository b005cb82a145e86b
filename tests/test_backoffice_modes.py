"""Back-office modes through the whole pipeline (shell adapter, offline engine): the webhook against the
example back office (examples/backoffice), a back office that is down, hangs, fails or answers garbage,
the staff mode, per-kind overrides, and the simulation's labels."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.bench.fakes import LocalServer
from bot.runtime import health_routes
from bot.wiring import open_services, shell_chat
from storage import cases as case_store
from storage.cases import CaseFilter
from tests.fakes.backoffice import SECRET, ExampleBackOffice, HangingBackOffice, refused_url
from workflows import telemetry
from workflows.backoffice.signing import verify

WHERE = "Where is my order #W-40001?"
RETURN = "I'd like to return my Acme Kettle, it leaks."
# Words of an order status or a return decision: none may appear when no back office answered.
INVENTED = re.compile(r"delivered|in transit|shipped|out for delivery|tracking|approved|RMA number|prepaid", re.I)


def webhook(url: str, **more: object) -> dict[str, object]:
    return {
        "SUPPORTBOT_BACKOFFICE": "webhook",
        "SUPPORTBOT_BACKOFFICE_URL": url,
        "SUPPORTBOT_BACKOFFICE_SECRET": SECRET,
        **more,
    }


async def stored(services: Any) -> list[Any]:
    async with services.db.session() as s:
        return await case_store.list_cases(s, CaseFilter(), limit=None)


def failures(kind: str, reason: str) -> float:
    return (
        telemetry.REGISTRY.get_sample_value("supportbot_backoffice_failures_total", {"kind": kind, "reason": reason})
        or 0.0
    )


@pytest.fixture
async def example(tmp_path: Path) -> AsyncIterator[ExampleBackOffice]:
    async with ExampleBackOffice(tmp_path / "backoffice.db") as server:
        yield server


async def test_where_is_my_order_sends_one_signed_post_and_quotes_the_back_office(
    make_settings: Any, example: ExampleBackOffice
) -> None:
    async with open_services(make_settings(**webhook(example.url))) as services:
        result = (await shell_chat(services, user_id="U42").send(WHERE)).result
        cases = await stored(services)
    assert result is not None and len(cases) == 1
    case = cases[0]
    assert len(example.received) == 1
    sent = example.received[0]
    assert sent.status == 200
    body = sent.json
    assert body["kind"] == "status" and body["params"] == {"order_id": "W-40001"}
    assert body["case_ref"] == case.ref and case.ref.startswith("STS-")
    assert body["customer"] == {"platform": "shell", "id": "U42"}
    assert body["idempotency_key"] and sent.headers["Idempotency-Key"] == body["idempotency_key"]
    assert verify(
        SECRET,
        sent.headers["X-Supportbot-Timestamp"],
        sent.body,
        sent.headers["X-Supportbot-Signature"],
        now=time.time(),
    )
    # The back office's answer, in the reply and in the case.
    assert "held at customs" in result.reply and "JD014600003828475621" in result.reply
    assert case.ref in result.reply
    assert case.details["current_status"] == "held at customs"
    assert case.details["tracking_number"] == "JD014600003828475621"
    assert case.details["source"] == "webhook" and not case.needs_staff
    assert "invoice" in case.details["backoffice_message"]  # the back office's own text for the customer
    assert "invoice" in result.reply


async def test_a_return_is_what_the_back_office_decided_not_the_simulation(
    make_settings: Any, example: ExampleBackOffice
) -> None:
    async with open_services(make_settings(**webhook(example.url))) as services:
        result = (await shell_chat(services).send(RETURN)).result
    assert result is not None
    case = result.cases[0]
    assert case.kind == "return" and case.details["rma_number"] == case.ref
    assert "post office" in result.reply
    assert "prepaid label" not in result.reply  # the simulation's promise, not this back office's


@pytest.mark.parametrize("where", ["down", "hangs"])
async def test_a_back_office_down_or_hanging_makes_a_staff_case_and_invents_nothing(
    make_settings: Any, where: str
) -> None:
    timeout_s = 1.0
    hanging = HangingBackOffice()
    async with hanging:
        url = refused_url() if where == "down" else hanging.url
        reason = "unreachable" if where == "down" else "timeout"
        before = failures("status", reason)
        async with open_services(make_settings(**webhook(url, SUPPORTBOT_BACKOFFICE_TIMEOUT_S=timeout_s))) as services:
            started = time.monotonic()
            result = (await shell_chat(services).send(WHERE)).result
            took = time.monotonic() - started
            cases = await stored(services)
    assert result is not None
    assert took < timeout_s + 3, f"reply after {took:.1f}s"
    if where == "hangs":
        assert took >= timeout_s * 0.9 and hanging.connections == 1
    assert len(cases) == 1 and cases[0].needs_staff
    assert cases[0].details["source"] == "webhook" and cases[0].details["backoffice_error"]
    assert "current_status" not in cases[0].details
    assert cases[0].ref in result.reply and "person will follow up" in result.reply
    assert not INVENTED.search(result.reply), result.reply
    assert failures("status", reason) == before + 1


async def test_a_refused_signature_or_a_garbled_answer_makes_a_staff_case(make_settings: Any, tmp_path: Path) -> None:
    async with ExampleBackOffice(tmp_path / "bo.db", secret="another-secret") as wrong_secret:
        async with open_services(make_settings(**webhook(wrong_secret.url))) as services:
            result = (await shell_chat(services).send(WHERE)).result
    assert result is not None and result.cases[0].needs_staff
    assert wrong_secret.received[0].status == 401 and len(wrong_secret.received) == 1  # a 4xx is not retried
    assert result.cases[0].details["backoffice_error"] == "HTTP 401"
    assert not INVENTED.search(result.reply)

    class Garbled(LocalServer):
        def routes(self) -> list[web.RouteDef]:
            return [web.post("/tasks", self._answer)]

        async def _answer(self, _request: web.Request) -> web.Response:  # 2xx, but no current_status
            return web.json_response({"details": {"order_id": "W-40001", "carrier": "UPS"}, "needs_staff": False})

    async with Garbled() as garbled:
        before = failures("status", "invalid_answer")
        async with open_services(make_settings(**webhook(f"http://127.0.0.1:{garbled.port}/tasks"))) as services:
            result = (await shell_chat(services).send(WHERE)).result
    assert result is not None and result.cases[0].needs_staff
    assert "current_status" in result.cases[0].details["backoffice_error"]
    assert not INVENTED.search(result.reply)
    assert failures("status", "invalid_answer") == before + 1


async def test_a_5xx_is_retried_with_the_same_idempotency_key(make_settings: Any, example: ExampleBackOffice) -> None:
    class FlakyProxy(LocalServer):
        """503 to the first request, then the example back office's own answer."""

        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[str, str]] = []  # (idempotency key, timestamp)

        def routes(self) -> list[web.RouteDef]:
            return [web.post("/tasks", self._forward)]

        async def _forward(self, request: web.Request) -> web.Response:
            body = await request.read()
            self.seen.append((json.loads(body)["idempotency_key"], request.headers["X-Supportbot-Timestamp"]))
            if len(self.seen) == 1:
                return web.Response(status=503)
            import aiohttp

            async with (
                aiohttp.ClientSession() as http,
                http.post(example.url, data=body, headers=request.headers) as answer,
            ):
                return web.Response(body=await answer.read(), status=answer.status, content_type="application/json")

    async with FlakyProxy() as proxy:
        async with open_services(make_settings(**webhook(f"http://127.0.0.1:{proxy.port}/tasks"))) as services:
            result = (await shell_chat(services).send(WHERE)).result
    assert result is not None and not result.cases[0].needs_staff
    assert len(proxy.seen) == 2 and proxy.seen[0][0] == proxy.seen[1][0]
    assert "held at customs" in result.reply


async def test_staff_mode_approves_no_return_and_states_no_status(make_settings: Any) -> None:
    async with open_services(make_settings(SUPPORTBOT_BACKOFFICE="staff")) as services:
        chat = shell_chat(services)
        result = (await chat.send(f"{RETURN} Also, {WHERE}")).result
        cases = await stored(services)
    assert result is not None and {c.kind for c in cases} == {"return", "status"}
    for case in cases:
        assert case.needs_staff and case.details["source"] == "staff"
        assert case.ref in result.reply
    ret = next(c for c in cases if c.kind == "return")
    assert "rma_number" not in ret.details and "shipping_instructions" not in ret.details
    assert not INVENTED.search(result.reply), result.reply
    assert result.reply.count("person will follow up") == 2


async def test_a_per_kind_override_sends_only_that_kind_to_the_webhook(
    make_settings: Any, example: ExampleBackOffice
) -> None:
    settings = make_settings(
        **webhook(example.url, SUPPORTBOT_BACKOFFICE="staff", SUPPORTBOT_BACKOFFICE_STATUS="webhook")
    )
    async with open_services(settings) as services:
        assert services.backoffices.describe() == "billing=staff,return=staff,status=webhook"
        assert services.backoffices.notice is None  # nothing simulated: no demo label
        result = (await shell_chat(services).send(f"{RETURN} Also, {WHERE}")).result
    assert result is not None
    by_kind = {c.kind: c for c in result.cases}
    assert by_kind["status"].details["source"] == "webhook" and "held at customs" in result.reply
    assert by_kind["return"].details["source"] == "staff" and by_kind["return"].needs_staff
    assert [r.json["kind"] for r in example.received] == ["status"]


async def test_the_simulation_is_labelled(make_settings: Any) -> None:
    async with open_services(make_settings()) as services:
        lines: list[str] = []
        chat = shell_chat(services)
        await chat.run(stdin=lambda _prompt: (_ for _ in ()).throw(EOFError()), out=lines.append)
        result = (await chat.send(WHERE)).result
        app = web.Application()
        app.add_routes(health_routes(services, []))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        import aiohttp

        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{runner.addresses[0][1]}/healthz") as response,
            ):
                health = await response.json()
        finally:
            await runner.cleanup()
    assert any("DEMO" in line and "simulated" in line for line in lines)
    assert health["backoffice"] == "simulated"
    assert result is not None and result.cases[0].details["source"] == "simulated"


def test_an_unknown_mode_is_one_clear_error(make_settings: Any) -> None:
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=r"SUPPORTBOT_BACKOFFICE_RETURN: 'erp' is neither.*simulated, webhook"):
        load_settings(_env_file=None, SUPPORTBOT_BACKOFFICE_RETURN="erp")
    with pytest.raises(SettingsError, match="SUPPORTBOT_BACKOFFICE_SECRET"):
        load_settings(_env_file=None, SUPPORTBOT_BACKOFFICE="webhook", SUPPORTBOT_BACKOFFICE_URL="http://127.0.0.1:9/")


@pytest.mark.slow
async def test_a_retry_after_a_crash_sends_the_same_idempotency_key_and_case_ref(
    tmp_path: Path, example: ExampleBackOffice
) -> None:
    """`supportbot ask` is killed (SIGKILL) right after the back office answered, before the case is
    stored; the restart's retry sends the same key and case reference and gets the first answer back."""
    import asyncio

    from bot.settings import Settings
    from tests.support import command_line, database_url, environment

    env = environment(
        tmp_path, SUPPORTBOT_FAILPOINTS="after_backoffice", **{k: str(v) for k, v in webhook(example.url).items()}
    )
    process = await asyncio.create_subprocess_exec(
        *command_line(), "ask", WHERE, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        await process.communicate()
    assert process.returncode == -9  # killed at the fail point
    assert len(example.received) == 1

    settings = Settings(
        _env_file=None, SUPPORTBOT_DATABASE_URL=database_url(tmp_path), SUPPORTBOT_LLM="offline", **webhook(example.url)
    )  # type: ignore[call-arg]
    async with open_services(settings) as services:
        chat = shell_chat(services)
        assert await services.support.resume(platforms=("shell",)) == 1
        cases = await stored(services)
    first, second = (r.json for r in example.received)
    assert first["idempotency_key"] == second["idempotency_key"]
    assert first["case_ref"] == second["case_ref"] == cases[0].ref
    assert example.received[1].body == example.received[0].body  # the very same request, signed anew
    assert len(cases) == 1 and cases[0].details["current_status"] == "held at customs"
    assert len(chat.delivered) == 1 and cases[0].ref in chat.delivered[0].text


@pytest.mark.parametrize(
    ("mode", "promise", "kept"),
    [
        ("staff", "Your return is approved: use the prepaid label we e-mail you.", False),
        ("staff", "Your order is out for delivery, tracking 1Z999.", False),
        ("staff", "A person from our team will follow up here.", True),
        ("simulated", "Your return is approved: use the prepaid label we e-mail you.", True),
    ],
)
async def test_a_model_reply_that_promises_what_no_back_office_said_is_replaced(
    make_settings: Any, mode: str, promise: str, kept: bool
) -> None:
    from workflows.llm.base import LLMBadOutput, LLMRequest
    from workflows.llm.scripted import FunctionLLM

    def model(request: LLMRequest[Any]) -> Any:
        if request.step != "synthesize":
            return LLMBadOutput("plan offline")  # the offline engine plans
        return {"reply": f"{promise} Refs: {', '.join(request.inputs['refs'])}."}

    async with open_services(make_settings(SUPPORTBOT_BACKOFFICE=mode), llm=FunctionLLM(model)) as services:
        result = (await shell_chat(services).send(f"{RETURN} Also, {WHERE}")).result
    assert result is not None and len(result.cases) == 2
    assert (promise in result.reply) is kept, result.reply
    if mode == "staff":
        assert not INVENTED.search(result.reply), result.reply


def test_the_webhook_secret_is_redacted_from_logs() -> None:
    from bot.logs import secret_values
    from bot.settings import Settings

    settings = Settings(_env_file=None, **webhook("http://127.0.0.1:9/tasks"))  # type: ignore[arg-type]
    assert SECRET in secret_values(settings)


async def test_asking_again_after_an_outage_answers_on_the_same_case_with_the_fresh_answer(
    make_settings: Any, example: ExampleBackOffice
) -> None:
    async with open_services(make_settings(**webhook(refused_url()))) as services:
        first = (await shell_chat(services).send(WHERE)).result
    async with open_services(make_settings(**webhook(example.url))) as services:
        again = (await shell_chat(services).send(WHERE)).result
        cases = await stored(services)
    assert first is not None and again is not None
    assert len(cases) == 1 and first.cases[0].ref == again.cases[0].ref == cases[0].ref
    assert example.received[0].json["case_ref"] == cases[0].ref  # the back office hears of the open case
    assert cases[0].details["current_status"] == "held at customs" and "held at customs" in again.reply
    assert cases[0].needs_staff  # flagged by the outage: it stays on the staff's list until someone closes it


async def test_the_staff_reply_speaks_the_customers_language(make_settings: Any) -> None:
    async with open_services(make_settings(SUPPORTBOT_BACKOFFICE="staff")) as services:
        result = (await shell_chat(services).send("Hola, ¿dónde está mi pedido W-40001? No ha llegado todavía.")).result
    assert result is not None and result.cases[0].needs_staff
    assert "una persona te responderá aquí" in result.reply and result.cases[0].ref in result.reply
