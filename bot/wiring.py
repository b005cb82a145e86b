"""Builds and owns everything the bot runs on: database, model client, language workflow, the message
path (SupportService), commands, and the dict of running platforms the core delivers through.

Adapters are built by the bot (`shell_chat` here; Slack and Discord in `bot/runtime.py`) with the
narrow `Handlers` of `Services.handlers()`, and added to `Services.platforms`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.platform import Handlers, Interaction, InteractionReply, Platform
from adapters.shell import ShellChat
from storage import migrate
from storage.db import Database
from workflows.faq.answers import FaqAnswers
from workflows.llm.base import LLMClient
from workflows.llm.runner import StepRunner
from workflows.pipeline import SupportWorkflow

from .commands import case_admin
from .commands import cases as case_commands
from .commands import customers as customer_commands
from .commands import faq as faq_commands
from .commands.registry import BoundCommands, CommandRegistry
from .dead_letters import RetryPolicy
from .service import SupportService
from .settings import Settings

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

    def add_platform(self, platform: Platform) -> None:
        self.platforms[platform.name] = platform

    def handlers(self) -> Handlers:
        """What an adapter is handed: narrow callables, no services to reach through."""
        return Handlers(on_message=self.support.handle, on_staff_message=self.support.record_staff_message,
                        on_interaction=self.on_interaction, is_staff=self.is_staff,
                        commands=BoundCommands(self.registry, self))

    async def on_interaction(self, interaction: Interaction) -> InteractionReply:
        _log.info("%s:%s clicked %s (%s); no action is bound to it", interaction.platform, interaction.user_id,
                  interaction.action, interaction.value)
        return InteractionReply(text="This button does nothing (yet).", ok=False)

    def faqs_changed(self) -> None:
        self.faq_answers.invalidate()

    def is_staff(self, platform: str, user_id: str, role_ids: tuple[str, ...] = ()) -> bool:
        s = self.settings
        if platform == "shell":
            return True  # the local terminal is the operator's
        if platform == "slack":
            return user_id in s.staff_slack_user_ids
        if platform == "discord":
            return user_id in s.staff_discord_user_ids or any(r in s.staff_discord_role_ids for r in role_ids)
        return False


def build_registry() -> CommandRegistry:
    registry = CommandRegistry()
    case_commands.register(registry)
    case_admin.register(registry)
    faq_commands.register(registry)
    customer_commands.register(registry)
    return registry


def make_llm_client(settings: Settings) -> LLMClient | None:
    if not settings.uses_gemini:
        return None
    from workflows.llm.gemini import GeminiClient

    assert settings.gemini_api_key is not None
    return GeminiClient(api_key=settings.gemini_api_key.get_secret_value(), model=settings.model,
                        router_model=settings.router_model, base_url=settings.gemini_base_url,
                        rpm=settings.llm_rpm, concurrency=settings.llm_concurrency, timeout_s=settings.llm_timeout_s)


async def prepare_database(db: Database) -> None:
    """SQLite is migrated automatically; PostgreSQL is migrated by `supportbot db upgrade`."""
    if db.is_sqlite:
        await migrate.upgrade(db)
    elif not await migrate.is_current(db):
        raise RuntimeError("the PostgreSQL database is not at the latest schema: run `supportbot db upgrade`")


@asynccontextmanager
async def open_services(settings: Settings, *, llm: LLMClient | None = None, use_settings_llm: bool = True,
                        concurrency: int = 32) -> AsyncIterator[Services]:
    db = Database(settings.database_url)
    client = llm if llm is not None else (make_llm_client(settings) if use_settings_llm else None)
    try:
        await prepare_database(db)
        runner = StepRunner(client)
        faq_answers = FaqAnswers(db)
        workflow = SupportWorkflow(runner, general_answerer=faq_answers)
        platforms: dict[str, Platform] = {}
        support = SupportService(db, workflow, platforms, concurrency=concurrency,
                                 retry=RetryPolicy(max_attempts=settings.max_attempts))
        _log.info("language engine: %s", client.name if client else "offline")
        yield Services(settings=settings, db=db, runner=runner, workflow=workflow, support=support,
                       registry=build_registry(), faq_answers=faq_answers, platforms=platforms)
    finally:
        if client is not None:
            await client.aclose()
        await db.aclose()


def shell_chat(services: Services, *, user_id: str = "local", thread_id: str | None = None) -> ShellChat:
    """The terminal as a platform (`supportbot chat`, `ask`; the pipeline tests' backend)."""
    chat = ShellChat(services.handlers(), user_id=user_id, thread_id=thread_id)
    services.add_platform(chat)
    return chat
