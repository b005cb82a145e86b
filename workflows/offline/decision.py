"""The offline routing decision: the rules' segments, checked against the meaning of each segment.

The rules (routing.py) find where each request sits and what its key words point at; the nearest
labelled examples (semantic.py) say what the words mean. Each segment's route is decided from both,
with a confidence:

- the examples agree closely with one route (similarity ≥ SURE, clear of the next route) → that route;
- they say "off-topic" clearly → general, whatever a key word suggested ("when do I next get paid");
- otherwise a route the rules and the examples agree on, or a strong rule the examples do not
  contradict, stands;
- otherwise the segment is general, and `unsure` keeps the route that was hinted at: the bot opens
  nothing and asks which of its routes the customer means.

The thresholds were set on the validation set (tools/devset/val.csv), never on the dev set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..routes import Route
from . import semantic
from .glossary import GLOSSED
from .language import detect_language, gloss
from .routing import Segment
from .routing import segments as rule_segments

SURE = 0.55  # similarity at which the nearest example's route is taken as it is
SURE_MARGIN = 0.10  # ...when the best other route is at least this much further
SURE_UNCUED = 0.60  # ...and at least this close when no key word backs an action route
OFF_TOPIC = 0.40  # similarity to an off-topic example at which key words no longer count
RULES_BACKED = 0.55  # a strong rule stands when an example of its route (or of another action) is this close
AGREED = 0.55  # rules and examples agreeing on a route: enough evidence from this similarity
AGREED_STRONG = 0.45  # ...or from this one, when the rule is a strong one
STRONG_RULE = 4.0
HINT_RULE = 2.5  # a rule this strong, or an example of an action route this close, is worth a question
HINT_SIMILARITY = 0.45
HINT_GAP = 0.06
ACTIONS: tuple[Route, ...] = ("billing", "return", "status", "technical", "human")


@dataclass(frozen=True)
class Decided:
    """A request segment with the decided route and how sure the decision is (0..1)."""

    segment: Segment
    confidence: float
    unsure: Route | None = None  # the action route hinted at when the decision fell back to general
    rule_score: float = 0.0  # what the rules alone scored (0: no cue word at all)
    rule_route: Route = "general"  # ...and for which route


def _decide(seg: Segment, guess: semantic.Guess | None, *, glossed: bool) -> Decided:
    rules: Route = seg.route if seg.score else "general"
    if guess is None:  # rules alone
        return Decided(seg, min(1.0, 0.3 + seg.score / 8) if seg.score else 0.5)
    sim = guess.similarity
    uncued_action = seg.score == 0.0 and guess.route in ACTIONS  # meaning alone would open a case
    sure = sim >= (SURE_UNCUED if uncued_action else SURE) and guess.margin >= SURE_MARGIN
    if glossed and rules != "general" and seg.score >= HINT_RULE and not (sure and guess.route != rules):
        # a glossed message is half English: its key words are what the encoder reads least well
        return Decided(seg, max(0.6, guess.by_route.get(rules, 0.0)))
    if sure:
        return Decided(
            replace(seg, route=guess.route, score=max(seg.score, 1.0) if guess.route != "general" else seg.score), sim
        )
    if rules != "general" and guess.route == rules and sim >= (AGREED_STRONG if seg.score >= STRONG_RULE else AGREED):
        return Decided(seg, max(sim, RULES_BACKED))
    backing = guess.by_route.get(rules, 0.0)
    if (
        rules != "general"
        and seg.score >= STRONG_RULE
        and (backing >= RULES_BACKED or (guess.route != "general" and sim >= RULES_BACKED))
    ):
        return Decided(seg, max(backing, sim if guess.route != "general" else backing))
    if guess.route == "general" and sim >= OFF_TOPIC:
        return Decided(replace(seg, route="general"), sim, _hint(rules, seg.score, guess))
    return Decided(replace(seg, route="general"), sim, _hint(rules, seg.score, guess))


def _hint(rules: Route, score: float, guess: semantic.Guess) -> Route | None:
    if rules in ACTIONS and score >= HINT_RULE:
        return rules
    best: Route | None = None  # the closest action nearly as close as the best route
    for route in ACTIONS:
        sim = guess.by_route.get(route, 0.0)
        if sim >= max(HINT_SIMILARITY, guess.similarity - HINT_GAP) and sim > guess.by_route.get(best or "", 0.0):
            best = route
    return best


MAX_GUESSED = 6  # segments per message checked for meaning: bounds the cost of a huge message
# A segment whose rules score this much for any route but technical is decided by the rules alone: no
# encoder call (~8 ms of CPU a message, what caps the bot's throughput). Measured with tools/route_eval.py
# (threshold picked on val, never dev): val macro-F1 0.8967 -> 0.8974, spurious cases 0.69% unchanged; dev
# 0.8994 -> 0.8989 and 0.62% -> 0.69% (one message more); world and Bitext unchanged. The encoder is skipped
# for 9% of dev and val messages and 36% of Bitext's (templated requests). Technical is left out: its cues
# ("my battery is dead") also fire on questions about the world, which only the encoder's off-topic examples
# catch (at 5 with technical, val spurious 0.97%); at 4, "are you human" or a "return flight" opens a case.
RULES_SUFFICE = 5.0
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
_LONG = 40  # words: past this the encoder, which reads the first 64 tokens, reads the key sentence instead


def _focus(seg: Segment) -> str:
    """What the encoder reads of a segment: all of a short one; of a long one (a story, then the request)
    the sentence the rules found the strongest cue in."""
    if len(seg.text.split()) <= _LONG:
        return seg.text
    best, best_score = seg.text, 0.0
    for m in _SENTENCE.finditer(seg.text):
        score = max((s.score for s in rule_segments(m.group(0)) if s.route == seg.route), default=0.0)
        if score > best_score:
            best, best_score = m.group(0), score
    return best


def _rules_suffice(seg: Segment) -> bool:
    return seg.score >= RULES_SUFFICE and seg.route != "technical"


async def decide(text: str, *, glossed: bool = False) -> list[Decided]:
    """The message's request segments with decided routes, in order. `glossed`: the text is a word gloss
    of another language (language.py), where the rules' key words count for more."""
    segs = rule_segments(text)
    asked = [i for i, s in enumerate(segs[:MAX_GUESSED]) if not _rules_suffice(s)]
    guesses = await semantic.guess([_focus(segs[i]) for i in asked]) if asked else None
    by_segment = dict(zip(asked, guesses, strict=True)) if guesses is not None else {}
    out = []
    for i, seg in enumerate(segs):
        d = _decide(seg, by_segment.get(i), glossed=glossed)
        out.append(replace(d, rule_score=seg.score, rule_route=seg.route))
    return out


@dataclass(frozen=True)
class RouteDecision:
    routes: list[Route]
    confidence: float
    unsure: Route | None  # set when nothing was sure enough to act on but a route was hinted at


async def route_decision(text: str) -> RouteDecision:
    language = detect_language(text)
    decided = await decide(gloss(text, language), glossed=language in GLOSSED)
    acted = [d for d in decided if d.segment.route != "general"]
    routes = list(dict.fromkeys(d.segment.route for d in acted)) or ["general"]
    if acted:
        return RouteDecision(routes, min(d.confidence for d in acted), None)
    hints = [d.unsure for d in decided if d.unsure]
    confidence = max((d.confidence for d in decided), default=1.0)
    return RouteDecision(routes, confidence, hints[0] if hints else None)


async def classify(text: str) -> list[Route]:
    """Every route the message asks for, ordered by first appearance; never empty."""
    return (await route_decision(text)).routes
