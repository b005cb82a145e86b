"""The console's pages and actions. Every handler here runs behind `auth.auth_middleware` (a live staff
session; the CSRF token on POST) except sign-in itself. Each page answers `?format=csv` with the rows
it shows."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import jinja2
from aiohttp import web

from storage import console as console_store

from ..cases import KINDS, STATUSES
from ..wiring import Services
from . import actions, auth, charts, insights, queries
from .render import csv_response, page, subject, when

_log = logging.getLogger(__name__)

ROOT = "/console"
CASE_CSV_HEADER = (
    "ref",
    "status",
    "kind",
    "platform",
    "customer_id",
    "assignee",
    "needs_staff",
    "created_at",
    "updated_at",
    "subject",
)
DONE = {
    "claim": "You claimed this case.",
    "assign": "Case assigned.",
    "note": "Internal note added.",
    "close": "Case closed.",
    "reopen": "Case reopened.",
}
# Which form field carries each action's text.
ACTION_FIELD = {"claim": "", "assign": "assignee", "note": "text", "close": "reason", "reopen": "text"}


def _case_csv_rows(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            r.ref,
            r.status,
            r.kind,
            r.platform,
            r.customer_id,
            r.assignee,
            r.needs_staff,
            r.created_at,
            r.updated_at,
            subject(r.details),
        )
        for r in rows
    ]


class Handlers:
    def __init__(self, services: Services, env: jinja2.Environment, *, secure_cookies: bool) -> None:
        self.services = services
        self.db = services.db
        self.env = env
        self.secure_cookies = secure_cookies
        self.limiter = auth.SignInLimiter()

    def is_staff(self, platform: str, user_id: str, roles: tuple[str, ...]) -> bool:
        return self.services.is_staff(platform, user_id, roles)

    # --- shared ---------------------------------------------------------------------------------
    def _context(self, request: web.Request, nav: str = "", **values: Any) -> dict[str, Any]:
        session = request.get(auth.SESSION_KEY)
        return {
            "root": ROOT,
            "nav": nav,
            "now": datetime.now(UTC),
            "staff": session.staff if session else None,
            "csrf_token": session.csrf_token if session else "",
            **values,
        }

    async def refuse(self, request: web.Request, status: int, text: str) -> web.StreamResponse:
        heading = {401: "Sign in needed", 403: "Not allowed", 404: "Not found", 429: "Too many attempts"}
        return await page(
            self.env,
            "message.html",
            {
                "root": ROOT,
                "nav": "",
                "staff": None,
                "csrf_token": "",
                "heading": heading.get(status, "Refused"),
                "text": text,
            },
            status=status,
        )

    @staticmethod
    def _wants_csv(request: web.Request) -> bool:
        return request.query.get("format") == "csv"

    # --- sign-in ----------------------------------------------------------------------------------
    async def signin_form(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token", "")
        if not token:
            return await self.refuse(
                request,
                401,
                "You are signed out. Ask for a new sign-in link with "
                "`supportbot console link --user YOUR_ID` or /console in chat.",
            )
        presign = auth.new_presign_token()
        response = await page(
            self.env,
            "signin.html",
            {"root": ROOT, "nav": "", "staff": None, "csrf_token": presign, "token": token[:100]},
        )
        response.set_cookie(
            auth.PRESIGN_COOKIE,
            presign,
            max_age=600,
            path=f"{ROOT}/signin",
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookies,
        )
        return response

    async def signin(self, request: web.Request) -> web.StreamResponse:
        if not await self.limiter.allow(request.remote or "?"):
            _log.warning("console: sign-in attempts from %s rate-limited", request.remote)
            return await self.refuse(request, 429, "Too many sign-in attempts. Wait a minute and try again.")
        form = await request.post()
        if not auth.same_token(str(form.get("csrf_token", "")), request.cookies.get(auth.PRESIGN_COOKIE)):
            return await self.refuse(request, 403, "This sign-in form has expired. Open your link again.")
        async with self.db.write() as s:
            redeemed = await console_store.redeem_link(s, str(form.get("token", "")))
            if redeemed is None:
                _log.warning("console: refused a sign-in link (unknown, used or expired) from %s", request.remote)
                return await self.refuse(
                    request,
                    403,
                    "This sign-in link is not valid: it was used already, "
                    "it expired, or it is mistyped. Ask for a new one.",
                )
            link_id, staff = redeemed
            if not self.is_staff(staff.platform, staff.user_id, staff.roles):
                return await self.refuse(request, 403, "You are not on the support staff list.")
            await console_store.purge_expired(s)
            token, _csrf = await console_store.create_session(s, staff, ttl=auth.SESSION_TTL, link_id=link_id)
        _log.info("console: %s signed in", staff.actor)
        response = web.HTTPSeeOther(f"{ROOT}/")
        auth.set_session_cookie(response, token, secure=self.secure_cookies)
        response.del_cookie(auth.PRESIGN_COOKIE, path=f"{ROOT}/signin")
        raise response

    async def signout(self, request: web.Request) -> web.StreamResponse:
        async with self.db.write() as s:
            await console_store.end_session(s, request.cookies.get(auth.SESSION_COOKIE, ""))
        _log.info("console: %s signed out", auth.session_of(request).staff.actor)
        response = web.HTTPSeeOther(f"{ROOT}/signin")
        response.del_cookie(auth.SESSION_COOKIE, path=ROOT)
        raise response

    # --- pages ------------------------------------------------------------------------------------
    async def queue(self, request: web.Request) -> web.StreamResponse:
        async with self.db.session() as s:
            rows = await queries.queue(s)
            waiting = len(rows) if len(rows) < queries.QUEUE_LIMIT else await queries.queue_size(s)
        if self._wants_csv(request):
            now = datetime.now(UTC)
            return csv_response(
                "queue.csv",
                (*CASE_CSV_HEADER, "waiting_minutes"),
                [
                    (*row, int((now - r.created_at).total_seconds() // 60))
                    for row, r in zip(_case_csv_rows(rows), rows, strict=True)
                ],
            )
        return await page(
            self.env,
            "queue.html",
            self._context(
                request, "queue", rows=rows, waiting=waiting, sla_minutes=self.services.settings.sla_first_response_min
            ),
        )

    async def cases(self, request: web.Request) -> web.StreamResponse:
        cq = queries.CaseQuery.from_params(request.query)
        csv = self._wants_csv(request)
        async with self.db.session() as s:
            listing = await queries.list_cases(s, cq, page_size=queries.COUNT_CAP if csv else queries.PAGE_SIZE)
        if csv:
            return csv_response("cases.csv", CASE_CSV_HEADER, _case_csv_rows(listing.rows))
        return await page(
            self.env,
            "cases.html",
            self._context(
                request,
                "cases",
                query=cq,
                listing=listing,
                statuses=STATUSES,
                kinds=KINDS,
                platforms=queries.PLATFORMS,
                params_for=lambda n: cq.params(page=n),
            ),
        )

    async def case(self, request: web.Request, *, refused: str = "", status: int = 200) -> web.StreamResponse:
        ref = request.match_info["ref"]
        csv = self._wants_csv(request)
        async with self.db.session() as s:
            view = await queries.case_view(s, ref, transcript_limit=None if csv else queries.TRANSCRIPT_LIMIT)
        if view is None:
            return await self.refuse(request, 404, f"No case {ref[:40]} exists.")
        if csv:
            rows: list[tuple[Any, ...]] = [
                ("message", m.created_at, m.role, m.author_id, m.internal, m.text) for m in view.transcript
            ]
            rows += [("event", e.created_at, e.action, e.actor, True, e.note) for e in view.events]
            return csv_response(
                f"{view.case.ref}.csv", ("type", "at", "role_or_action", "who", "internal", "text"), rows
            )
        done = DONE.get(request.query.get("done", ""), "")
        return await page(
            self.env,
            "case.html",
            self._context(
                request,
                "cases",
                case=view.case,
                events=view.events,
                transcript=view.transcript,
                conversation=view.conversation,
                siblings=view.siblings,
                transcript_total=view.transcript_total,
                done=done,
                refused=refused,
            ),
            status=status,
        )

    async def case_action(self, request: web.Request) -> web.StreamResponse:
        ref, action = request.match_info["ref"], request.match_info["action"]
        if action not in actions.ACTIONS:
            return await self.refuse(request, 404, "Unknown action.")
        form = await request.post()
        field = ACTION_FIELD[action]
        text = str(form.get(field, "")) if field else ""
        outcome = await actions.change(self.services.cases, action, ref, auth.session_of(request).staff, text)
        if not outcome.ok:
            return await self.case(request, refused=outcome.message, status=409)
        raise web.HTTPSeeOther(f"{ROOT}/cases/{ref.strip().upper()}?done={action}")

    async def customer(self, request: web.Request) -> web.StreamResponse:
        platform, _, customer_id = request.match_info["who"].partition(":")
        if not customer_id:
            return await self.refuse(request, 404, "Customers are addressed as platform:id.")
        cq = queries.CaseQuery.from_params(request.query)
        async with self.db.session() as s:
            view = await queries.customer_view(s, platform[:16], customer_id[:128], cq.page)
        if self._wants_csv(request):
            return csv_response("customer.csv", CASE_CSV_HEADER, _case_csv_rows(view.cases.rows))
        return await page(
            self.env, "customer.html", self._context(request, "cases", view=view, params_for=lambda n: {"page": str(n)})
        )

    async def faqs(self, request: web.Request) -> web.StreamResponse:
        async with self.db.session() as s:
            sets = await queries.faq_sets(s)
        if self._wants_csv(request):
            rows = [
                (
                    f.id,
                    when(f.created_at),
                    f.requested_by,
                    i.position,
                    i.question,
                    i.answer,
                    [src.get("url", "") for src in i.sources if isinstance(src, dict)],
                )
                for f, items in sets
                for i in items
            ]
            return csv_response(
                "faqs.csv", ("set", "created_at", "requested_by", "position", "question", "answer", "sources"), rows
            )
        return await page(self.env, "faqs.html", self._context(request, "faqs", sets=sets))

    async def _insights(self, request: web.Request) -> insights.Insights:
        rng = insights.DateRange.from_params(request.query)
        async with self.db.session() as s:
            return await insights.compute(s, rng)

    async def insights_page(self, request: web.Request) -> web.StreamResponse:
        data = await self._insights(request)
        if self._wants_csv(request):
            return csv_response("insights.csv", ("section", "series", "day", "value"), data.table_rows())
        titles = {
            "messages": "Messages per day",
            "cases": "Cases per day, by kind",
            "first-response": "First-response time",
            "time-to-close": "Time to close",
            "handled": "Bot alone vs. staff",
            "ratings": "Ratings",
            "fallbacks": "Model fallbacks",
        }
        chart_list = [(name, titles[name], has(data)) for name, (_draw, has) in charts.CHARTS.items()]

        def range_params(**extra: str) -> dict[str, str]:
            return {"from": data.range.start.isoformat(), "to": data.range.end.isoformat(), **extra}

        return await page(
            self.env,
            "insights.html",
            self._context(request, "insights", data=data, charts=chart_list, range_params=range_params),
        )

    async def chart(self, request: web.Request) -> web.StreamResponse:
        entry = charts.CHARTS.get(request.match_info["name"])
        if entry is None:
            raise web.HTTPNotFound()
        svg = entry[0](await self._insights(request))
        # An SVG drawn by pygal carries its own <style>; as an image it can run nothing.
        return web.Response(
            body=svg,
            content_type="image/svg+xml",
            headers={
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                "Cache-Control": "no-store",
            },
        )


async def to_queue(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{ROOT}/")


def route_table(h: Handlers) -> list[web.AbstractRouteDef]:
    return [
        web.get("", to_queue),
        web.get("/signin", h.signin_form),
        web.post("/signin", h.signin),
        web.post("/signout", h.signout),
        web.get("/", h.queue),
        web.get("/cases", h.cases),
        web.get("/cases/{ref}", h.case),
        web.post("/cases/{ref}/{action}", h.case_action),
        web.get("/customers/{who}", h.customer),
        web.get("/faqs", h.faqs),
        web.get("/insights", h.insights_page),
        web.get("/insights/charts/{name}.svg", h.chart),
    ]
