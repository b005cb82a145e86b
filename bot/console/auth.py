"""Who may use the console and how they prove it: one-time sign-in links, database sessions in an
HttpOnly SameSite=Strict cookie, a CSRF token on every POST, and a rate limit on sign-in attempts.

A link is redeemed by a POST from the page it opens, not by the GET itself: chat apps fetch links to
preview them, and a preview must not use up (or sign in with) the link. That POST carries a
double-submit token (cookie + form field) because no session exists yet to hold one.

Every request re-checks the staff policy against the current settings, so removing someone from the
staff list ends their access at once, whatever session they hold.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiolimiter import AsyncLimiter

from storage import console as console_store
from storage.console import SessionRow, StaffIdentity
from storage.db import Database

from ..settings import Settings

_log = logging.getLogger(__name__)

SESSION_COOKIE = "sb_console"
PRESIGN_COOKIE = "sb_console_signin"
SESSION_TTL = timedelta(hours=12)
LINK_MINUTES = 10
SIGNIN_ATTEMPTS_PER_MINUTE = 10
SESSION_KEY = web.RequestKey("console_session", SessionRow)

StaffCheck = Callable[[str, str, tuple[str, ...]], bool]


class NotStaff(Exception):
    """The id given for a sign-in link is not on the staff lists."""


def resolve_staff(settings: Settings, staff_id: str, is_staff: StaffCheck) -> StaffIdentity:
    """`slack:U123`, `discord:123` or a bare id found on one of the staff lists → the staff member.
    Discord members who are staff only through a role get their link from the /console command, which
    knows their roles."""
    staff_id = staff_id.strip()
    platform, _, user_id = staff_id.partition(":")
    if not user_id:
        user_id = staff_id
        platform = (
            "slack"
            if staff_id in settings.staff_slack_user_ids
            else "discord"
            if staff_id in settings.staff_discord_user_ids
            else ""
        )
    if platform not in ("slack", "discord") or not user_id or not is_staff(platform, user_id, ()):
        raise NotStaff(
            f"{staff_id[:60]} is not on the support staff list (SUPPORTBOT_STAFF_SLACK_USER_IDS, "
            "SUPPORTBOT_STAFF_DISCORD_USER_IDS)"
        )
    return StaffIdentity(platform, user_id)


def public_base(settings: Settings, port: int) -> str:
    return (settings.public_url or f"http://127.0.0.1:{port}").rstrip("/")


def signin_url(base: str, token: str) -> str:
    return f"{base}/console/signin?token={token}"


class SignInLimiter:
    """At most `attempts` sign-in attempts a minute per client address (aiolimiter's leaky bucket)."""

    def __init__(self, attempts: int = SIGNIN_ATTEMPTS_PER_MINUTE, period_s: float = 60.0) -> None:
        self.attempts, self.period_s = attempts, period_s
        self._buckets: dict[str, AsyncLimiter] = {}

    async def allow(self, client: str) -> bool:
        if len(self._buckets) > 10_000:  # a flood of addresses must not grow memory without bound
            self._buckets.clear()
        bucket = self._buckets.setdefault(client, AsyncLimiter(self.attempts, self.period_s))
        if not bucket.has_capacity():
            return False
        await bucket.acquire()  # has capacity: returns at once
        return True


def new_presign_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def set_session_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=secure,
    )


def session_of(request: web.Request) -> SessionRow:
    return request[SESSION_KEY]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC_PATHS = ("/console/signin", "/console/static/")


def auth_middleware(
    load: Callable[[str], Awaitable[SessionRow | None]],
    is_staff: StaffCheck,
    refuse: Callable[[web.Request, int, str], Awaitable[web.StreamResponse]],
) -> Middleware:
    """Every console request but sign-in and static files needs a live session of a current staff member,
    and every POST its session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PUBLIC_PATHS):
            return await handler(request)
        session = await load(request.cookies.get(SESSION_COOKIE, ""))
        if session is None:
            return await refuse(request, 401, "Sign in with a link from `supportbot console link` or /console.")
        staff = session.staff
        if not is_staff(staff.platform, staff.user_id, staff.roles):
            _log.warning("console: %s is no longer staff; refused %s", staff.actor, request.path)
            return await refuse(request, 403, "You are not on the support staff list any more.")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            form = await request.post()
            given = request.headers.get("X-CSRF-Token") or form.get("csrf_token")
            if not same_token(given if isinstance(given, str) else None, session.csrf_token):
                _log.warning("console: %s POST %s without a valid CSRF token", staff.actor, request.path)
                return await refuse(request, 403, "This form has expired. Reload the page and try again.")
        request[SESSION_KEY] = session
        return await handler(request)

    return middleware


async def load_session(db: Database, token: str) -> SessionRow | None:
    if not token:
        return None
    async with db.session() as s:
        return await console_store.load_session(s, token)
