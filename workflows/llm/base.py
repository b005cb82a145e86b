"""One provider-neutral interface for every model call.

Error hierarchy (vendor errors are translated into these at the vendor module's boundary)::

    LLMError
    ├── LLMUnavailable      network failure, 5xx after retries, circuit open, disabled
    │   └── LLMRateLimited  429 after retries (retry_after in seconds when the server said)
    ├── LLMTimeout          the per-call timeout expired
    ├── LLMBadOutput        the answer was not valid JSON for the requested schema
    └── LLMBlocked          the prompt or answer was blocked by the provider's safety filter

Every error means "use the offline engine for this step"; none is ever shown to a customer.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)
ModelRole = Literal["main", "router"]


class LLMError(Exception):
    """Base of every model-call failure."""


class LLMUnavailable(LLMError):
    pass


class LLMRateLimited(LLMUnavailable):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMTimeout(LLMError):
    pass


class LLMBadOutput(LLMError):
    pass


class LLMBlocked(LLMError):
    pass


class RealRequestsBlocked(LLMUnavailable):
    """Raised when a test (or any code) forbade real model requests and one was attempted."""


@dataclass(frozen=True)
class LLMRequest(Generic[T]):
    """A structured-output call.

    `context` is large content shared by many calls (the pages of one FAQ): it is sent first so the
    provider can cache it; `context_key` names it (same key, same content). `inputs` holds the
    structured data the prompt was rendered from, for logs, scripted test models and simulators.
    """

    step: str
    schema: type[T]
    system: str
    prompt: str
    role: ModelRole = "main"
    context: str | None = None
    context_key: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class LLMResult(Generic[T]):
    value: T
    usage: Usage = Usage()
    model: str = ""


class LLMClient(Protocol):
    """What the workflows need from a model provider."""

    name: str

    async def generate(self, request: LLMRequest[T]) -> LLMResult[T]: ...

    def hold_context(self, context_key: str) -> AbstractAsyncContextManager[None]:
        """The calls made inside are one piece of work sharing the context `context_key` (one FAQ): a
        provider that caches such a context may free it when the last holder leaves."""
        ...

    async def aclose(self) -> None: ...
