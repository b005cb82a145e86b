"""Gemini's answers and errors, decoded: the structured value of an answer (or why there is none), its
token usage, which failures are worth a retry and how long the server asks us to wait."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import ValidationError

from .base import LLMBadOutput, LLMBlocked, LLMRequest, T, Usage

_BLOCKING_FINISH_REASONS = {"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION", "IMAGE_SAFETY"}
# The SDK's async transport is aiohttp whenever it is installed, and it is one of our dependencies.
_CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, ConnectionError)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")


def parse_answer(request: LLMRequest[T], response: types.GenerateContentResponse) -> T:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise LLMBlocked(f"step {request.step}: prompt blocked ({enum_name(feedback.block_reason)})")
    if not response.candidates:
        raise LLMBlocked(f"step {request.step}: no candidates in the answer")
    reason = enum_name(response.candidates[0].finish_reason)
    if reason in _BLOCKING_FINISH_REASONS:
        raise LLMBlocked(f"step {request.step}: answer stopped ({reason})")
    text = response.text
    if not text:
        raise LLMBadOutput(f"step {request.step}: empty answer (finish reason {reason})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise LLMBadOutput(f"step {request.step}: answer is not JSON ({e.msg})") from e
    try:
        return request.schema.model_validate(data)
    except ValidationError as e:
        raise LLMBadOutput(
            f"step {request.step}: answer does not fit {request.schema.__name__} ({e.error_count()} errors)"
        ) from e


def usage_of(response: types.GenerateContentResponse) -> Usage:
    meta = response.usage_metadata
    if meta is None:
        return Usage()
    return Usage(
        prompt_tokens=meta.prompt_token_count or 0,
        output_tokens=meta.candidates_token_count or 0,
        cached_tokens=meta.cached_content_token_count or 0,
    )


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, genai_errors.APIError):
        return exc.code in (408, 429) or (exc.code or 0) >= 500
    if isinstance(exc, TimeoutError):  # before the connection errors: some are TimeoutErrors too
        return False
    return isinstance(exc, _CONNECTION_ERRORS)


def retry_delay(exc: genai_errors.APIError) -> float | None:
    """The server's retry hint: google.rpc.RetryInfo `retryDelay` ("1.5s"), else a Retry-After header."""
    body: dict[str, Any] = exc.details if isinstance(exc.details, dict) else {}
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else body
    for detail in error.get("details") or []:
        if (
            isinstance(detail, dict)
            and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo")
            and (m := _DURATION.match(str(detail.get("retryDelay", ""))))
        ):
            return float(m[1])
    headers = getattr(exc.response, "headers", None)
    try:
        return float(headers.get("Retry-After")) if headers and headers.get("Retry-After") else None
    except ValueError:
        return None


def enum_name(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def describe(exc: BaseException | None) -> str:
    if isinstance(exc, genai_errors.APIError):
        return f"{exc.code} {exc.status}"
    return type(exc).__name__ if exc is not None else "unknown error"
