"""The customer's tone, so the reply can meet it: an angry message or one repeating an earlier request
is acknowledged before anything else."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

Tone = Literal["angry", "repeated", ""]

_ANGRY = re.compile(
    r"\b(?:ridiculous|unacceptable|terrible|awful|worst|useless|furious|angry|disgusting|scam|"
    r"outrageous|fed\s+up|sick\s+of|pathetic|incompetent|wtf|joke|nonsense|rubbish)\b"
    r"|[!?]{3,}",
    re.IGNORECASE,
)
_REPEATED = re.compile(
    r"\b(?:again|(?:already|before)\s+(?:asked|told|said|wrote|sent)|"
    r"(?:asked|told\s+you|wrote|said)\s+(?:this\s+)?(?:before|already|twice)|"
    r"second\s+time|third\s+time|how\s+many\s+times|still\s+(?:no|not|waiting|nothing))\b",
    re.IGNORECASE,
)
_LETTERS = re.compile(r"[^\W\d_]")


def _shouting(text: str) -> bool:
    letters = _LETTERS.findall(text)
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.6


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def tone_of(text: str, history: Sequence[str] = ()) -> Tone:
    if _ANGRY.search(text) or _shouting(text):
        return "angry"
    if _REPEATED.search(text) or (_norm(text) and _norm(text) in {_norm(h) for h in history}):
        return "repeated"
    return ""
