"""The console's HTTP contract, through aiohttp's test client against the console mounted at /console:
nothing for anonymous requests, one-time links, CSRF on every POST, the security headers, search, and
a close that records its actor and reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.bench.console_data import DEMO_CASES, seed_demo
from storage import console as console_store
from storage.console import StaffIdentity
from tests.harness.console import (
    STAFF_SETTINGS,
    events_of,
    hidden,
    mounted,
    new_link,
    sign_in,
    signed_in_csrf,
    status_of,
)

OPEN_REF = "INV_CASE_7K3Q9P2X"
HOSTILE_REF = "TEC-9XW3RTB1"
CASE_PAGES = [
    "/console/",
    "/console/cases",
    f"/console/cases/{OPEN_REF}",
    "/console/cases?q=refund",
    "/console/customers/slack:U0ALICE",
    "/console/faqs",
    "/console/insights",
    "/console/insights/charts/cases.svg",
    "/console/cases?format=csv",
    "/console/?format=csv",
    f"/console/cases/{OPEN_REF}?format=csv",
]


@pytest.fixture
async def console_services(make_settings) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    from bot.wiring import open_services

    async with open_services(make_settings(**STAFF_SETTINGS), use_settings_llm=False) as services:
        await seed_demo(services.db)
        yield services


@pytest.fixture
async def client(console_services: Any) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(mounted(console_services))) as c:
        yield c


@pytest.fixture
async def staff_client(client: TestClient, console_services: Any) -> TestClient:
    response = await sign_in(client, await new_link(console_services))
    assert response.status == 200 and response.url.path == "/console/"
    return client


async def test_anonymous_requests_get_no_case_data(client: TestClient) -> None:
    secrets_of_cases = [c.ref for c in DEMO_CASES] + ["INV-2024-0042", "U0ALICE", "SuperWidget"]
    for path in CASE_PAGES:
        response = await client.get(path)
        body = await response.text()
        assert response.status == 401, path
        assert not any(s in body for s in secrets_of_cases), path


async def test_anonymous_post_changes_nothing(client: TestClient, console_services: Any) -> None:
    response = await client.post(f"/console/cases/{OPEN_REF}/close", data={"reason": "x", "csrf_token": "x"})
    assert response.status == 401
    assert await status_of(console_services, OPEN_REF) == "open"


async def test_a_link_works_once(client: TestClient, console_services: Any) -> None:
    token = await new_link(console_services)
    first = await sign_in(client, token)
    assert first.status == 200 and "Queue" in await first.text()
    client.session.cookie_jar.clear()
    second = await sign_in(client, token)
    assert second.status == 403
    assert (await client.get("/console/")).status == 401


async def test_an_expired_or_made_up_link_is_refused(client: TestClient, console_services: Any) -> None:
    expired = await new_link(console_services, minutes=-1)
    long_expired = await new_link(console_services, minutes=-3 * 24 * 60)
    assert (await sign_in(client, expired)).status == 403
    assert (await sign_in(client, "made-up-token")).status == 403
    assert (await client.get("/console/cases")).status == 401
    assert (await sign_in(client, await new_link(console_services))).status == 200
    async with console_services.db.session() as s:  # a sign-in forgets what expired days ago
        hashes = set((await s.execute(console_store.select(console_store.ConsoleLink.token_hash))).scalars())
    assert console_store._hash(expired) in hashes and console_store._hash(long_expired) not in hashes


async def test_opening_a_link_does_not_use_it(client: TestClient, console_services: Any) -> None:
    """A chat app's link preview fetches the URL: that GET must leave the link usable."""
    token = await new_link(console_services)
    for _ in range(3):
        assert (await client.get("/console/signin", params={"token": token})).status == 200
    assert (await sign_in(client, token)).status == 200


async def test_sign_in_without_its_form_token_is_refused(client: TestClient, console_services: Any) -> None:
    token = await new_link(console_services)
    response = await client.post("/console/signin", data={"token": token})
    assert response.status == 403
    assert (await sign_in(client, token)).status == 200  # the refused attempt did not use the link


async def test_sign_in_attempts_are_rate_limited(client: TestClient) -> None:
    statuses = [(await client.post("/console/signin", data={"token": f"guess-{i}"})).status for i in range(12)]
    assert statuses[:10] == [403] * 10
    assert statuses[10:] == [429, 429]


async def test_session_cookie_flags(client: TestClient, console_services: Any) -> None:
    page = await client.get("/console/signin", params={"token": await new_link(console_services)})
    html = await page.text()
    response = await client.post(
        "/console/signin",
        data={"token": hidden(html, "token"), "csrf_token": hidden(html, "csrf_token")},
        allow_redirects=False,
    )
    assert response.status == 303
    cookie = response.cookies["sb_console"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/console"
    assert int(cookie["max-age"]) == 12 * 3600
    assert not cookie["secure"]  # the public URL is http here


async def test_cookie_is_secure_when_the_public_url_is_https(make_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.wiring import open_services

    settings = make_settings(SUPPORTBOT_PUBLIC_URL="https://support.example.com", **STAFF_SETTINGS)
    async with (
        open_services(settings, use_settings_llm=False) as services,
        TestClient(TestServer(mounted(services))) as c,
    ):
        page = await c.get("/console/signin", params={"token": await new_link(services)})
        html = await page.text()
        presign = page.cookies["sb_console_signin"]
        assert presign["secure"]  # so the test client does not send it back over http: send it by hand
        response = await c.post(
            "/console/signin",
            data={"token": hidden(html, "token"), "csrf_token": hidden(html, "csrf_token")},
            cookies={"sb_console_signin": presign.value},
            allow_redirects=False,
        )
        assert response.status == 303 and response.cookies["sb_console"]["secure"]


async def test_security_headers_on_pages_refusals_and_not_found(staff_client: TestClient) -> None:
    for path in (
        "/console/",
        f"/console/cases/{OPEN_REF}",
        "/console/cases/NOPE-1",
        "/console/no-such-page",
        "/console/static/console.css",
    ):
        response = await staff_client.get(path)
        csp = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "script-src 'none'" in csp, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
    staff_client.session.cookie_jar.clear()
    refused = await staff_client.get("/console/")
    assert refused.status == 401 and "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]


async def test_post_without_csrf_token_is_refused(staff_client: TestClient, console_services: Any) -> None:
    url = f"/console/cases/{OPEN_REF}/close"
    assert (await staff_client.post(url, data={"reason": "no token"})).status == 403
    assert (await staff_client.post(url, data={"reason": "bad", "csrf_token": "forged"})).status == 403
    assert (await staff_client.post("/console/signout")).status == 403
    assert await status_of(console_services, OPEN_REF) == "open"
    assert all(e.action != "closed" for e in await events_of(console_services, OPEN_REF))


async def test_close_records_actor_and_reason(staff_client: TestClient, console_services: Any) -> None:
    csrf = await signed_in_csrf(staff_client)
    response = await staff_client.post(
        f"/console/cases/{OPEN_REF}/close",
        data={"reason": "Refund issued for the double charge", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/console/cases/{OPEN_REF}?done=close"
    assert await status_of(console_services, OPEN_REF) == "closed"
    closed = [e for e in await events_of(console_services, OPEN_REF) if e.action == "closed"]
    assert [(e.actor, e.note) for e in closed] == [("slack:U0SAM", "Refund issued for the double charge")]
    page = await (await staff_client.get(f"/console/cases/{OPEN_REF}?done=close")).text()
    assert "Case closed." in page and "Refund issued for the double charge" in page
    again = await staff_client.post(f"/console/cases/{OPEN_REF}/close", data={"reason": "twice", "csrf_token": csrf})
    assert again.status == 409 and "already closed" in await again.text()


async def test_claim_note_reopen_and_assign(staff_client: TestClient, console_services: Any) -> None:
    csrf = await signed_in_csrf(staff_client)
    ref = "HUM-5TR7YB2C"

    async def act(action: str, **form: str) -> int:
        return (
            await staff_client.post(
                f"/console/cases/{ref}/{action}", data={**form, "csrf_token": csrf}, allow_redirects=False
            )
        ).status

    assert await act("claim") == 303
    assert await act("note", text="Called the customer back") == 303
    assert await act("assign", assignee="slack:U0ALEX") == 303
    assert await act("close", reason="") == 303
    assert await act("reopen", text="Customer wrote again") == 303
    assert await act("explode") == 404
    events = [(e.action, e.actor, e.note) for e in await events_of(console_services, ref)][1:]
    assert events == [
        ("assigned", "slack:U0SAM", "slack:U0SAM"),
        ("note", "slack:U0SAM", "Called the customer back"),
        ("assigned", "slack:U0SAM", "slack:U0ALEX"),
        ("closed", "slack:U0SAM", None),
        ("reopened", "slack:U0SAM", "Customer wrote again"),
    ]


async def test_search_finds_exactly_the_matching_case(staff_client: TestClient) -> None:
    async def found(q: str) -> set[str]:
        csv = await (await staff_client.get("/console/cases", params={"q": q, "format": "csv"})).text()
        return {line.split(",")[0] for line in csv.splitlines()[1:]}

    assert await found("SuperWidget") == {"RMA-4HD2M8QW"}  # details and transcript
    assert await found("soaked") == {"HUM-5TR7YB2C"}  # transcript only
    assert await found("INV-2024-0042") == {OPEN_REF}  # a number in the details
    assert await found("TEC-9XW3RTB1") == {HOSTILE_REF}  # a reference
    assert await found("inv_case_7k3q9p2x") == {OPEN_REF}  # a reference, typed loosely
    assert await found("cracked arrived") == {"RMA-4HD2M8QW"}  # every word, any order
    assert await found("nothing-matches-this") == set()
    assert await found('"*) OR NEAR(') == set()  # no query syntax gets through
    html = await (await staff_client.get("/console/cases", params={"q": "soaked"})).text()
    assert "1 case matching" in html and "HUM-5TR7YB2C" in html and OPEN_REF not in html


async def test_filters_and_paging(staff_client: TestClient, console_services: Any) -> None:
    async def refs(**params: str) -> set[str]:
        csv = await (await staff_client.get("/console/cases", params={**params, "format": "csv"})).text()
        return {line.split(",")[0] for line in csv.splitlines()[1:]}

    assert await refs(status="closed") == {"STS-2PQ8ZK4N"}
    assert await refs(kind="return") == {"RMA-4HD2M8QW"}
    assert await refs(platform="discord") == {"RMA-4HD2M8QW", "HUM-5TR7YB2C"}
    assert await refs(customer="slack:U0ALICE") == {OPEN_REF, "STS-2PQ8ZK4N"}
    assert await refs(assignee="slack:U0SAM") == {"RMA-4HD2M8QW"}
    assert await refs(status="bogus") == {c.ref for c in DEMO_CASES}  # an unknown value filters nothing
    assert await refs(**{"from": "2000-01-01", "to": "2000-01-02"}) == set()
    from bot.console import queries

    async with console_services.db.session() as s:
        first = await queries.list_cases(s, queries.CaseQuery(), page_size=2)
        third = await queries.list_cases(s, queries.CaseQuery(page=3), page_size=2)
    assert (first.total, first.pages, len(first.rows), len(third.rows)) == (5, 3, 2, 1)


async def test_console_without_its_slash_leads_to_the_queue(staff_client: TestClient) -> None:
    response = await staff_client.get("/console")
    assert response.status == 200 and response.url.path == "/console/"


async def test_queue_lists_unclaimed_first(staff_client: TestClient) -> None:
    csv = await (await staff_client.get("/console/?format=csv")).text()
    refs = [line.split(",")[0] for line in csv.splitlines()[1:]]
    # Needs staff and unfinished: the unclaimed oldest first, then the claimed one; the closed case is not there.
    assert refs == [OPEN_REF, HOSTILE_REF, "HUM-5TR7YB2C", "RMA-4HD2M8QW"]
    html = await (await staff_client.get("/console/")).text()
    assert 'class="overdue"' in html  # the unclaimed billing case waited past the 30-minute target


async def test_hostile_transcript_is_escaped(staff_client: TestClient) -> None:
    html = await (await staff_client.get(f"/console/cases/{HOSTILE_REF}")).text()
    for raw in (
        "<script>alert",
        "<img src=x",
        "<svg onload",
        'href="javascript:',
        "onerror=alert(1)>",
        '" onmouseover="alert(5)',
    ):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in html
    faqs = await (await staff_client.get("/console/faqs")).text()
    assert "javascript:" not in faqs.replace(">javascript:alert(8)<", "")  # shown as text, never as a link
    assert 'href="https://docs.example.com/returns"' in faqs and "<b>Who pays" not in faqs


async def test_csv_cells_cannot_run_formulas(staff_client: TestClient, console_services: Any) -> None:
    csrf = await signed_in_csrf(staff_client)
    await staff_client.post(f"/console/cases/{OPEN_REF}/note", data={"text": '=HYPERLINK("x")', "csrf_token": csrf})
    csv = await (await staff_client.get(f"/console/cases/{OPEN_REF}?format=csv")).text()
    assert csv.startswith("\ufefftype,at,") and "'=HYPERLINK" in csv


async def test_someone_no_longer_staff_is_refused(client: TestClient, console_services: Any) -> None:
    token = await new_link(console_services, StaffIdentity("slack", "U0GONE"))
    assert (await sign_in(client, token)).status == 403
    async with console_services.db.write() as s:  # a session from before they left the staff list
        cookie, _ = await console_store.create_session(
            s, StaffIdentity("slack", "U0GONE"), ttl=console_store.timedelta(hours=1)
        )
    response = await client.get("/console/", cookies={"sb_console": cookie})
    assert response.status == 403 and OPEN_REF not in await response.text()


async def test_sign_out_ends_the_session(staff_client: TestClient) -> None:
    csrf = await signed_in_csrf(staff_client)
    cookie = staff_client.session.cookie_jar.filter_cookies(staff_client.make_url("/console/"))["sb_console"].value
    response = await staff_client.post("/console/signout", data={"csrf_token": csrf})
    assert response.status == 401 and response.url.path == "/console/signin"
    assert (await staff_client.get("/console/", cookies={"sb_console": cookie})).status == 401


async def test_insights_page_and_charts(staff_client: TestClient) -> None:
    html = await (await staff_client.get("/console/insights")).text()
    assert "/console/insights/charts/cases.svg?" in html
    assert "No data for this range." in html  # no model fallbacks recorded
    svg = await staff_client.get("/console/insights/charts/cases.svg")
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    body = await svg.text()
    assert "<svg" in body and "<script" not in body and "http://kozea" not in body
    csv = await (await staff_client.get("/console/insights?format=csv")).text()
    assert "cases per day,billing," in csv and "time to close (minutes),cases,,1" in csv


async def test_nothing_secret_on_any_page(make_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.wiring import open_services
    from tests.harness.console import sign_in

    secrets = {
        "SLACK_BOT_TOKEN": "xoxb-secret-bot-token",
        "SLACK_SIGNING_SECRET": "secret-signing-value",
        "DISCORD_BOT_TOKEN": "secret.discord.token",
        "GEMINI_API_KEY": "secret-gemini-key",
        "SUPPORTBOT_BACKOFFICE_SECRET": "secret-webhook-key",
    }
    settings = make_settings(**STAFF_SETTINGS, **secrets)
    async with open_services(settings, use_settings_llm=False) as services:
        await seed_demo(services.db)
        async with TestClient(TestServer(mounted(services))) as c:
            token = await new_link(services)
            assert (await sign_in(c, token)).status == 200
            cookie = c.session.cookie_jar.filter_cookies(c.make_url("/console/"))["sb_console"].value
            for path in [*CASE_PAGES, "/console/customers/discord:400000000000000001", "/console/insights?format=csv"]:
                body = await (await c.get(path)).text()
                leaked = [v for v in [*secrets.values(), token, cookie] if v in body]
                assert leaked == [], path


async def test_insights_read_the_ratings_table_when_there_is_one(
    staff_client: TestClient, console_services: Any
) -> None:
    from sqlalchemy import text

    async with console_services.db.write() as s:
        has_table = await (await s.connection()).run_sync(
            lambda sync: __import__("sqlalchemy").inspect(sync).has_table("case_ratings")
        )
        if not has_table:  # the staff loop's table, as its migration makes it
            await s.execute(
                text(
                    "CREATE TABLE case_ratings (case_id INTEGER PRIMARY KEY, customer_id VARCHAR(128), "
                    "score INTEGER, scale VARCHAR(8), created_at TIMESTAMP WITH TIME ZONE, "
                    "updated_at TIMESTAMP WITH TIME ZONE)"
                )
            )
        await s.execute(
            text(
                "INSERT INTO case_ratings (case_id, customer_id, score, scale, created_at, updated_at) "
                "SELECT id, customer_id, 5, 'thumbs', created_at, created_at FROM cases"
            )
        )
    csv = await (await staff_client.get("/console/insights?format=csv")).text()
    assert "ratings,thumbs up,,5" in csv


async def test_a_long_transcript_shows_its_newest_messages(
    staff_client: TestClient, console_services: Any, monkeypatch: Any
) -> None:
    from bot.console import queries

    monkeypatch.setattr(queries, "TRANSCRIPT_LIMIT", 2)
    html = await (await staff_client.get("/console/cases/RMA-4HD2M8QW")).text()
    assert "The newest 2 of 4 messages" in html
    assert "Warehouse confirmed stock" in html and "I want to return it" not in html
    csv = await (await staff_client.get("/console/cases/RMA-4HD2M8QW?format=csv")).text()
    assert "I want to return it" in csv and "Warehouse confirmed stock" in csv
