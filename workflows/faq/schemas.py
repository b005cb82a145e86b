"""Structured data of the FAQ pipeline: what each model step returns, and the FAQ it builds.

Model steps (one schema each)::

    questions  → QuestionList       (grounded and three-step)
    answer     → GroundedAnswer     (grounded: answer + one citation per source page)
    draft      → DraftAnswer        (three-step, step 2: the answer alone)
    sources    → SourceList         (three-step, step 3: citations for a given answer)

`FaqResult.to_json_dict()` is the object `supportbot faq --json` prints (docs/spec-notes.md).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

Chain = Literal["grounded", "three-step"]
MAX_QUESTIONS = 20


class QuestionList(BaseModel):
    questions: list[str] = Field(description="Distinct questions a customer would ask, each answered by the pages.")

    @field_validator("questions", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        if isinstance(value, list):
            return [" ".join(str(q).split()) for q in value if str(q).strip()][: MAX_QUESTIONS * 2]
        return value


class Citation(BaseModel):
    url: str = Field(description="The url of the page exactly as given in its <page> header.")
    quote: str = Field(description="One sentence copied word for word from that page that supports the answer.")


class GroundedAnswer(BaseModel):
    answer: str = Field(description="The answer, from the pages only; empty when the pages do not answer it.")
    citations: list[Citation] = Field(
        default_factory=list, max_length=10, description="One citation per page the answer relies on."
    )


class DraftAnswer(BaseModel):
    answer: str = Field(description="The answer, from the pages only; empty when the pages do not answer it.")


class SourceList(BaseModel):
    citations: list[Citation] = Field(default_factory=list, max_length=10)


# --- the FAQ ----------------------------------------------------------------------------------


class FaqSource(BaseModel):
    title: str
    url: str
    quote: str


class FaqItem(BaseModel):
    question: str
    answer: str
    sources: list[FaqSource]


class FailedPage(BaseModel):
    url: str
    reason: str  # one line, safe to show a customer


class FaqResult(BaseModel):
    items: list[FaqItem]
    failed_pages: list[FailedPage] = Field(default_factory=list)
    llm_calls: int = 0
    # Diagnostics (not part of the --json object):
    chain: Chain = "grounded"
    parallel: bool = True
    questions_asked: int = 0
    unsupported: int = 0  # answers left out: no citation verified
    citations: int = 0  # citations proposed (by the model or the offline engine)
    citations_verified: int = 0
    fallbacks: int = 0  # steps answered by the offline engine after a model failure
    pages_reused: int = 0  # pages whose extraction came from the page cache
    pages_cut: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(include={"items", "failed_pages", "llm_calls"})
