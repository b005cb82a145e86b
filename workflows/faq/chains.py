"""The FAQ chains: the model steps from pages to cited answers, each with its offline stand-in.

    grounded (default)   questions → per question: answer + citations        1 + N calls, critical path 2
    three-step           questions → per question: answer → sources          1 + 2N calls, critical path 3
                         (no sources call for an empty answer: it is unsupported either way)

With `parallel` the per-question work runs concurrently (asyncio.gather; the model client enforces the
concurrency cap and the request budget); without it, one step after another, for comparison. Every
step goes through `StepRunner.run` with the offline engine's answer as its fallback, and every call
carries the pages as the shared `context` under one key (see `context`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from ..llm.base import LLMRequest
from ..llm.runner import StepRunner, Tally
from .context import PageContext
from .grounding import normalise
from .offline import OfflineFaq
from .pages import Page
from .progress import ProgressReporter
from .prompts import DRAFT_PROMPT, FAQ_SYSTEM, GROUNDED_PROMPT, QUESTIONS_PROMPT, SOURCES_PROMPT
from .schemas import Chain, Citation, DraftAnswer, GroundedAnswer, QuestionList, SourceList

_log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


@dataclass
class FaqSteps:
    """What the steps of one FAQ share: pages, their rendered context, the runner and the tallies."""

    pages: list[Page]
    context: PageContext
    runner: StepRunner
    offline: OfflineFaq
    progress: ProgressReporter
    tally: Tally = field(default_factory=Tally)
    answered: int = 0
    sourced: int = 0
    total: int = 0

    def request(self, step: str, schema: type[M], prompt: str, **inputs: Any) -> LLMRequest[M]:
        return LLMRequest(
            step=f"faq_{step}",
            schema=schema,
            system=FAQ_SYSTEM,
            prompt=prompt,
            context=self.context.text,
            context_key=self.context.key,
            inputs={"urls": [p.url for p in self.pages], **inputs},
        )


@dataclass(frozen=True)
class Draft:
    question: str
    answer: str
    citations: list[Citation]


async def ask_questions(steps: FaqSteps, n: int) -> list[str]:
    prompt = QUESTIONS_PROMPT.format(n=n, pages=len(steps.pages))
    request = steps.request("questions", QuestionList, prompt, n=n)
    outcome = await steps.runner.run(
        request,
        lambda: steps.offline.questions(n),
        tally=steps.tally,
        accept=lambda v: any(q.strip() for q in v.questions),
    )
    questions: list[str] = []
    seen: set[str] = set()
    for question in outcome.value.questions:
        key = normalise(question)
        if key and key not in seen:
            seen.add(key)
            questions.append(question)
    if len(questions) < n:
        _log.info("faq questions: %d asked for, %d given (%s)", n, len(questions), outcome.source)
    return questions[:n]


async def grounded_answer(steps: FaqSteps, question: str) -> Draft:
    request = steps.request("answer", GroundedAnswer, GROUNDED_PROMPT.format(question=question), question=question)
    outcome = await steps.runner.run(request, lambda: steps.offline.answer(question), tally=steps.tally)
    steps.answered += 1
    steps.progress.emit("answers", steps.answered, steps.total, f"Answered {steps.answered} of {steps.total}")
    return Draft(question, outcome.value.answer.strip(), list(outcome.value.citations))


async def three_step_answer(steps: FaqSteps, question: str) -> Draft:
    draft_request = steps.request("draft", DraftAnswer, DRAFT_PROMPT.format(question=question), question=question)
    draft = await steps.runner.run(draft_request, lambda: steps.offline.draft(question), tally=steps.tally)
    answer = draft.value.answer.strip()
    steps.answered += 1
    steps.progress.emit("answers", steps.answered, steps.total, f"Answered {steps.answered} of {steps.total}")
    if not answer:  # nothing to find sources for: the answer is unsupported either way
        return Draft(question, "", [])
    sources_request = steps.request(
        "sources", SourceList, SOURCES_PROMPT.format(question=question, answer=answer), question=question, answer=answer
    )
    sources = await steps.runner.run(sources_request, lambda: steps.offline.sources(answer), tally=steps.tally)
    steps.sourced += 1
    steps.progress.emit("sources", steps.sourced, steps.total, f"Found sources for {steps.sourced} of {steps.total}")
    return Draft(question, answer, list(sources.value.citations))


async def each(items: list[Any], work: Callable[[Any], Awaitable[R]], *, parallel: bool) -> list[R]:
    """`work` on every item, concurrently or one after another; results in the items' order."""
    if parallel:
        return list(await asyncio.gather(*(work(item) for item in items)))
    return [await work(item) for item in items]


async def run_chain(steps: FaqSteps, questions: list[str], *, chain: Chain, parallel: bool) -> list[Draft]:
    steps.total = len(questions)
    answer_one = grounded_answer if chain == "grounded" else three_step_answer
    return await each(questions, lambda q: answer_one(steps, q), parallel=parallel)
