"""Builds and owns everything the bot runs on: database, model client, language workflow, the message
path (SupportService), commands, and the dict of running platforms the core delivers through.

Adapters are built by the bot (`shell_chat` here; Slack and Discord in `bot/runtime.py`) with the
narrow `Handlers` of `Services.handlers()`, and added to `Services.platforms`."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from adapters.platform import Handlers, Interaction, InteractionReply, Platform
from adapters.shell import ShellChat
from storage import migrate
from storage.db import Database, SqliteDriver
from workflows.backoffice.dispatch import BackOfficeConfig, BackOffices
from workflows.clarify import CLARIFY_ACTION
from workflows.faq.answers import FaqAnswers
from workflows.llm.base import LLMClient
from workflows.llm.runner import StepRunner
from workflows.pipeline import SupportWorkflow

from .acks_first import AcksFirst
from .case_effects import case_service
from .cases import CaseService
from .cases import is_staff as staff_policy
from .clarify import answer_from_click
from .commands import case_admin
from .commands import cases as case_commands
from .commands import console as console_commands
from .commands import customers as customer_commands
from .commands import faq as faq_commands
from .commands.registry import BoundCommands, CommandRegistry
from .dead_letters import RetryPolicy
from .service import SupportService
from .settings import Settings
from .staff import StaffLoop

_log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    runner: StepRunner
    workflow: SupportWorkflow
    support: SupportService
    registry: CommandRegistry
    faq_answers: FaqAnswers
    platforms: dict[str, Platform]  # the running platforms by name; the same dict the core delivers through
    backoffices: BackOffices
    cases: CaseService  # the case use cases, with the effects of bot/case_effects.py
    staff: StaffLoop  # the staff loop: cards, takeover, closing messages, timers (delivers through `platforms`)
    acks: AcksFirst = field(default_factory=AcksFirst)  # the HTTP server's acknowledgements before background work

    def add_platform(self, platform: Platform) -> None:
        self.platforms[platform.name] = platform

    def handlers(self) -> Handlers:
        """What an adapter is handed: narrow callables, no services to reach through."""
        return Handlers(
            on_message=self.support.handle,
            on_staff_message=self.support.record_staff_message,
            on_interaction=self.on_interaction,
            is_staff=self.is_staff,
            commands=BoundCommands(self.registry, self),
        )

    async def on_interaction(self, interaction: Interaction) -> InteractionReply:
        if interaction.action == CLARIFY_ACTION:  # the customer picked what their unclear message is about
            answer = answer_from_click(interaction)
            if answer is None:
                return InteractionReply(text="Only the customer who asked can answer this.", ok=False)
            await self.support.handle(answer)
            return InteractionReply()
        return await self.staff.on_interaction(interaction)

    def faqs_changed(self) -> None:
        self.faq_answers.invalidate()

    def is_staff(self, platform: str, user_id: str, role_ids: tuple[str, ...] = ()) -> bool:
        return staff_policy(self.settings, platform, user_id, role_ids)


def build_registry() -> CommandRegistry:
    registry = CommandRegistry()
    case_commands.register(registry)
    case_admin.register(registry)
    faq_commands.register(registry)
    console_commands.register(registry)
    customer_commands.register(registry)
    return registry


def make_backoffices(settings: Settings) -> BackOffices:
    secret = settings.backoffice_secret.get_secret_value() if settings.backoffice_secret else None
    return BackOffices(
        BackOfficeConfig(
            mode=settings.backoffice,
            per_kind=settings.backoffice_modes,
            url=settings.backoffice_url,
            secret=secret,
            timeout_s=settings.backoffice_timeout_s,
        )
    )


def make_llm_client(settings: Settings) -> LLMClient | None:
    if not settings.uses_gemini:
        return None
    from workflows.llm.gemini import GeminiClient

    assert settings.gemini_api_key is not None
    return GeminiClient(
        api_key=settings.gemini_api_key.get_secret_value(),
        model=settings.model,
        router_model=settings.router_model,
        base_url=settings.gemini_base_url,
        rpm=settings.llm_rpm,
        concurrency=settings.llm_concurrency,
        timeout_s=settings.llm_timeout_s,
    )


async def prepare_database(db: Database) -> None:
    """SQLite is migrated automatically; PostgreSQL is migrated by `supportbot db upgrade`."""
    await migrate.prepare(db)


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    llm: LLMClient | None = None,
    use_settings_llm: bool = True,
    concurrency: int = 32,
    sqlite_driver: SqliteDriver = "thread",
) -> AsyncIterator[Services]:
    """`sqlite_driver`: the benchmark compares stock aiosqlite with the default (storage/sqlite_thread.py)."""
    backoffices = make_backoffices(settings)
    db = Database(settings.database_url, sqlite_driver=sqlite_driver)
    client = llm if llm is not None else (make_llm_client(settings) if use_settings_llm else None)
    try:
        await prepare_database(db)
        runner = StepRunner(client)
        faq_answers = FaqAnswers(db)
        workflow = SupportWorkflow(runner, general_answerer=faq_answers, backoffices=backoffices)
        platforms: dict[str, Platform] = {}
        support = SupportService(
            db, workflow, platforms, concurrency=concurrency, retry=RetryPolicy(max_attempts=settings.max_attempts)
        )
        _log.info("language engine: %s; back office: %s", client.name if client else "offline", backoffices.describe())
        cases = case_service(db, settings)
        staff = StaffLoop(
            db, settings, cases=cases, is_staff=functools.partial(staff_policy, settings), platforms=platforms
        )
        support.quiet, support.staff_wrote = staff.quiet, staff.staff_wrote
        yield Services(
            settings=settings,
            db=db,
            runner=runner,
            workflow=workflow,
            support=support,
            registry=build_registry(),
            faq_answers=faq_answers,
            platforms=platforms,
            backoffices=backoffices,
            cases=cases,
            staff=staff,
        )
    finally:
        if client is not None:
            await client.aclose()
        await backoffices.aclose()
        await db.aclose()


async def warm_up(services: Services) -> None:
    """Load what the first customer message would otherwise load: the offline router's sentence encoder
    (1.5 s on a 2-core machine). Loaded on demand, it blocked the event loop inside the first message after
    every start: that message's answer and staff card came 1.5 s late (the card's 2 s target missed under
    load), and so did every acknowledgement due meanwhile. Here it loads in a thread, before the platforms
    deliver messages. Not where nothing is routed: with a model (the encoder is only its fallback) or in a
    receiver that leaves the answering to workers."""
    if services.runner.client is not None or services.support.receive_only:
        return
    from workflows.offline import semantic

    await asyncio.to_thread(semantic.available)


def shell_chat(services: Services, *, user_id: str = "local", thread_id: str | None = None) -> ShellChat:
    """The terminal as a platform (`supportbot chat`, `ask`; the pipeline tests' backend)."""
    chat = ShellChat(services.handlers(), user_id=user_id, thread_id=thread_id, notice=services.backoffices.notice)
    services.add_platform(chat)
    return chat
