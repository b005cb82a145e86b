"""The offline orchestrator: a message (plus the thread's open tasks) becomes routes and typed tasks.

Each request segment of the message gives its own tasks, with parameters taken from that segment
only, so the invoice of the first request never leaks into the third. Open tasks from earlier in the
thread come first: a new request of the same kind that brings what one of them misses completes it,
and a reply that is no new request ("they stopped charging", "it's A-555") is read as the answer to
the question the bot asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

from ..clarify import parse_choice
from ..types import Plan, Route, Task, TaskParams
from .decision import Decided, decide
from .entities import (
    find_billing_concern,
    find_invoice_numbers,
    find_order_ids,
    find_product_name,
    find_references,
    find_return_reason,
    find_technical_issue,
    reason_from_answer,
)
from .glossary import GLOSSED
from .language import gloss
from .routing import Segment

MAX_TASKS = 12  # the orchestrator's schema takes at most this many
_SAME_AS_BEFORE = re.compile(
    r"\b(?:same|previous|earlier|last)\s+(?:order|invoice|purchase|one|bill)\b"
    r"|\bas\s+before\b|\b(?:i|we)\s+(?:mentioned|gave|sent)\b",
    re.IGNORECASE,
)
# One or more pleasantries and nothing else ("ok thanks bye", "gracias!").
_PLEASANTRY = re.compile(
    r"^\W*(?:(?:thanks?(?:\s+(?:you|a\s+lot|so\s+much|very\s+much))*|thx|ty|cheers|ok(?:ay)?|"
    r"yes|yeah|no|nope|hi|hello|hey|bye|goodbye|see\s+you|cool|great|sure|fine|good|perfect|"
    r"got\s+it|please|gracias|merci|danke|obrigad[oa]|adi[oó]s|ciao|tsch[uü]ss)\W*)*$",
    re.IGNORECASE,
)
# A question about the bot itself: the answer is what it can do, never "that's outside what I can help with".
_ABOUT_BOT = re.compile(
    r"^\W*(?:(?:what|how)\s+(?:else\s+)?(?:can|could|do)\s+you\s+(?:do|help)|help|"
    r"what\s+are\s+you|who\s+are\s+you)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|good\s+(?:morning|afternoon|evening|night)|thanks?|thank\s+you|bye|"
    r"goodbye|see\s+you)\b",
    re.IGNORECASE,
)
_ANSWER_HEAD = re.compile(r"[,;:.!?\n]|\s(?=(?:because|since|as|cause|it|they)\s)", re.IGNORECASE)
# A reply this long is a story, not a product name given on its own; and these open a sentence, never name one.
_SHORT_ANSWER = 25
_DISCOURSE = re.compile(
    r"^\W*(?:on\s+top\s+of\s+(?:that|this|it)|in\s+addition|by\s+the\s+way|first\s+of\s+all|"
    r"to\s+be\s+honest|as\s+well|what['’]?s\s+more|anyway|besides|moreover|however|also|"
    r"furthermore|honestly|actually|again|still|and|but|so|then)\b",
    re.IGNORECASE,
)
_LEAD = re.compile(r"[,;.!?\n]|\s(?:and|but|also)\s", re.IGNORECASE)  # where a message's first phrase ends
_BARE_NAME = re.compile(
    r"^\W*(?:it['’]?s\s+|it\s+is\s+|the\s+one\s+is\s+)?(?:the\s+|my\s+|a\s+|an\s+)?"
    r"([\w'’+-]+(?:\s+[\w'’+-]+){0,3})\W*$",
    re.IGNORECASE,
)


def _id_from_history(history: Sequence[str], finder: Callable[[str], list[str]]) -> str | None:
    """The latest id of that kind in the thread ("same order as before")."""
    for message in reversed(history):
        if found := finder(message):
            return found[-1]
    return None


def _segment_tasks(seg: Segment, history: Sequence[str]) -> list[Task]:
    """The tasks one request segment asks for, with what that segment says."""
    text = seg.text
    if seg.route == "billing":
        invoices: list[str | None] = list(find_invoice_numbers(text))
        if not invoices and history and _SAME_AS_BEFORE.search(text):
            invoices = [_id_from_history(history, find_invoice_numbers)]
        concern = find_billing_concern(text)
        return [Task(kind="billing", params=TaskParams(invoice_number=i, concern=concern)) for i in invoices or [None]]
    if seg.route == "return":
        return [
            Task(
                kind="return",
                params=TaskParams(product_name=find_product_name(text), reason_for_return=find_return_reason(text)),
            )
        ]
    if seg.route == "status":
        orders: list[str | None] = list(find_order_ids(text))
        if not orders:
            refs = [r for r in find_references(text) if r not in find_invoice_numbers(text)]
            if refs:
                orders = [refs[0]]
            elif history and _SAME_AS_BEFORE.search(text):
                orders = [_id_from_history(history, find_order_ids)]
        return [Task(kind="status", params=TaskParams(order_id=o)) for o in orders or [None]]
    if seg.route == "technical":
        issue = find_technical_issue(text) or " ".join(text.split())[:200]
        return [Task(kind="technical", params=TaskParams(issue=issue))]
    if seg.route == "human":
        return [Task(kind="human")]
    return []


def _merge(into: Task, new: Task) -> Task | None:
    """`into` completed with `new`'s values when both are the same request: same kind, `new` brings at
    least one missing value, and no value of `into` is contradicted."""
    if into.kind != new.kind or not into.missing():
        return None
    old, add = into.params.model_dump(), new.params.model_dump()
    if any(old[k] and add[k] and old[k].strip().lower() != add[k].strip().lower() for k in old):
        return None
    if not any(add.get(name) for name in into.missing()):
        return None
    merged = {k: old[k] or add[k] for k in old}
    return Task(kind=into.kind, params=TaskParams(**merged))


def _answer_values(seg: Segment, wanted: set[str]) -> dict[str, list[str]]:
    """What a reply that is no new request supplies for the parameters the open tasks want."""
    text = seg.text
    refs = find_references(text)
    invoices, orders = find_invoice_numbers(text), find_order_ids(text)
    if refs and not invoices and not orders:  # a bare "A-555" answers whichever id was asked for
        invoices, orders = refs[:1], refs[:1]
    values: dict[str, list[str]] = {"invoice_number": invoices, "order_id": orders}
    if refs or _PLEASANTRY.match(text):
        return values
    product, rest = find_product_name(text), text
    if product is None and "product_name" in wanted and len(text.split()) <= _SHORT_ANSWER:
        head, *tail = _ANSWER_HEAD.split(text, maxsplit=1)  # "the blue kettle, it leaks"
        if (m := _BARE_NAME.match(head)) and not _PLEASANTRY.match(head) and not _DISCOURSE.match(head):
            product, rest = m.group(1), " ".join(tail)
    values["product_name"] = [product] if product else []
    reason = reason_from_answer(rest) if rest is not text or product is None else None
    values["reason_for_return"] = [reason] if reason else []  # the customer's own words
    return values


def _fill_from_answer(tasks: list[Task], seg: Segment) -> list[int]:
    """Fill missing parameters of open tasks from a reply segment; the indexes of the tasks it filled."""
    pool = _answer_values(seg, {name for task in tasks for name in task.missing()})
    filled = []
    for i, task in enumerate(tasks):
        update = {}
        for name in task.missing():
            if pool.get(name):
                update[name] = value = pool[name].pop(0)
                for other in ("invoice_number", "order_id"):  # one id answers one question
                    if pool[other] and pool[other][0] == value:
                        pool[other].pop(0)
        if update:
            tasks[i] = Task(kind=task.kind, params=task.params.model_copy(update=update))
            filled.append(i)
    return filled


def _fill_leftover_ids(tasks: list[Task], text: str) -> list[int]:
    """An id that opens a message going on to another request ("A-555, and can I talk to a human?")
    still answers an open task waiting for one."""
    lead = _LEAD.split(text, maxsplit=1)[0]
    taken = {v for t in tasks for v in (t.params.invoice_number, t.params.order_id) if v}
    refs = [r for r in find_references(lead) if r not in taken] if len(lead.split()) <= 6 else []
    filled = []
    for i, task in enumerate(tasks):
        for name in ("invoice_number", "order_id"):
            if refs and name in task.missing():
                tasks[i] = Task(kind=task.kind, params=task.params.model_copy(update={name: refs.pop(0)}))
                filled.append(i)
    return filled


_MEMORY = 5  # earlier customer messages of the thread searched for what a bare follow-up leaves out


async def _thread_requests(history: Sequence[str], glossed: bool) -> list[Task]:
    """The requests the thread's last messages completed, newest last: the planner replayed over them,
    each message answering what the one before left open ("I want to return my shoes" → "they're too
    small")."""
    start = max(0, len(history) - _MEMORY)
    done: list[Task] = []
    waiting: list[Task] = []
    for i in range(start, len(history)):
        replayed = await _plan(history[i], pending=waiting, history=history[:i], glossed=glossed, recall=False)
        done += [t for t in replayed.tasks if not t.missing()]
        waiting = [t for t in replayed.tasks if t.missing()]
    return done


async def _from_thread(task: Task, history: Sequence[str], glossed: bool) -> Task:
    """A follow-up that names nothing of its own ("any update on my refund?", "I never got it") is about
    what the thread already said: the newest earlier request of the same kind lends its values."""
    if (
        not history
        or task.kind not in ("billing", "return", "status")
        or any(
            getattr(task.params, name) for name in ("invoice_number", "product_name", "reason_for_return", "order_id")
        )
    ):
        return task
    for earlier in reversed(await _thread_requests(history, glossed)):
        if earlier.kind == task.kind:
            values = earlier.params.model_dump(exclude_none=True)
            return Task(
                kind=task.kind,
                params=task.params.model_copy(
                    update={k: v for k, v in values.items() if k != "concern" or not task.params.concern}
                ),
            )
    return task


def _absorbed(task: Task, waiting: list[Task]) -> bool:
    """A new request that only repeats an open one ("I don't have an invoice, it was on my card" while the
    invoice number is asked) is that request: the same field is never stored or asked twice."""
    return any(old.kind == task.kind and old.missing() and set(task.missing()) >= set(old.missing()) for old in waiting)


def _is_reply(d: Decided, open_kinds: Collection[str]) -> bool:
    """A segment that is no request of its own: nothing in it named a route, or it names a malfunction
    while a return waits for its reason ("they stopped charging")."""
    if d.rule_score == 0.0 or d.segment.route == "general":  # no cue, or none the meaning bore out
        return True
    return "technical" in (d.segment.route, d.rule_route) and "return" in open_kinds


def _chosen(route: Route, history: Sequence[str]) -> list[Decided] | None:
    """The message the clarifying question was about, routed as the customer chose."""
    if not history:
        return None
    text = history[-1]
    return [Decided(Segment(route, text, 0, len(text), 1.0), 1.0, rule_score=1.0, rule_route=route)]


async def plan(
    text: str, *, pending: Sequence[Task] = (), history: Sequence[str] = (), language: str | None = None
) -> Plan:
    """Routes and tasks for one customer message; `pending` are the thread's tasks still missing
    parameters, `history` its earlier customer messages, `language` the customer's (Spanish, French,
    German and Portuguese are read through a word gloss). When the routing is unsure and nothing else
    comes of the message, the plan asks to clarify instead of opening anything."""
    choice = parse_choice(text)
    glossed = language in GLOSSED
    if glossed:
        text, history = gloss(text, language), [gloss(h, language) for h in history]
    return await _plan(text, pending=pending, history=history, glossed=glossed, recall=True, choice=choice)


async def _plan(
    text: str,
    *,
    pending: Sequence[Task],
    history: Sequence[str],
    glossed: bool,
    recall: bool,
    choice: Route | None = None,
) -> Plan:
    """`recall`: a bare follow-up may take its values from the thread (off while replaying the thread)."""
    decided = (_chosen(choice, history) if choice is not None else None) or await decide(text, glossed=glossed)
    waiting = list(pending)
    changed: list[int] = []
    new_tasks: list[Task] = []
    routes: list[Route] = []
    hints: list[Route] = []
    confidence = 1.0
    for d in decided:
        seg = d.segment
        open_kinds = {t.kind for t in waiting if t.missing()}
        if open_kinds and _is_reply(d, open_kinds) and (answered := _fill_from_answer(waiting, seg)):
            changed += answered
            routes += [waiting[i].kind for i in answered]
            continue
        if seg.route == "general" and d.unsure:
            hints.append(d.unsure)
            confidence = min(confidence, d.confidence)
            continue
        if seg.route != "general":
            confidence = min(confidence, d.confidence)
        for task in _segment_tasks(seg, history):
            task = await _from_thread(task, history, glossed) if recall else task
            if _absorbed(task, waiting):
                continue
            for i, old in enumerate(waiting):
                if (merged := _merge(old, task)) is not None:
                    waiting[i] = merged
                    changed.append(i)
                    break
            else:
                if not any(
                    t.kind == task.kind and t.params == task.params  # a restated open request is no new one
                    for t in new_tasks + waiting
                ):
                    new_tasks.append(task)
        if seg.score or seg.route != "general":  # a cue-less remark is no request of its own
            routes.append(seg.route)
    leftover = _fill_leftover_ids(waiting, text)
    routes = [*(waiting[i].kind for i in leftover), *routes]
    changed += leftover
    filled = [waiting[i] for i in dict.fromkeys(changed)]
    untouched = [t for i, t in enumerate(waiting) if i not in changed]
    clarify = bool(hints) and not new_tasks and not changed
    off_topic = (
        not routes
        and not hints
        and not waiting
        and all(d.rule_score == 0.0 for d in decided)
        and not _PLEASANTRY.match(text)
        and not _GREETING.match(text)
        and not _ABOUT_BOT.match(text)
    )
    return Plan(
        routes=list(dict.fromkeys(routes)) or ["general"],
        tasks=(filled + new_tasks + untouched)[:MAX_TASKS],
        confidence=round(confidence, 3),
        clarify=clarify,
        off_topic=off_topic,
    )
