"""The offline orchestrator: routes and tasks per request, and open tasks completed by later replies."""

from __future__ import annotations

import pytest

from workflows.offline.planner import MAX_TASKS, plan
from workflows.types import Task, TaskParams

SPEC_MESSAGE = (
    "Hi, I'm writing to you because I have a question about invoice #INV-7890. It seems higher than I "
    "expected. Also, I would like to return the 'SuperWidget 5000' I bought because it's not compatible "
    "with my system. Finally, can you give me an update on my order #A-12345?"
)


async def test_spec_message_plan() -> None:
    p = await plan(SPEC_MESSAGE)
    assert p.routes == ["billing", "return", "status"]
    assert [t.kind for t in p.tasks] == ["billing", "return", "status"]
    billing, ret, status = p.tasks
    assert billing.params.invoice_number == "INV-7890"
    assert "higher than expected" in (billing.params.concern or "")
    assert ret.params.product_name == "SuperWidget 5000"
    assert ret.params.reason_for_return == "not compatible with my system"
    assert status.params.order_id == "A-12345"
    assert all(not t.missing() for t in p.tasks)
    # each task only carries what its own request said
    assert billing.params.order_id is None and status.params.invoice_number is None


async def test_return_without_reason_is_completed_by_the_answer() -> None:
    first = await plan("I want to return my headphones")
    assert first.routes == ["return"]
    (task,) = first.tasks
    assert task.kind == "return" and task.params.product_name == "headphones"
    assert task.missing() == ["reason_for_return"]

    second = await plan("they stopped charging", pending=[task])
    assert second.routes == ["return"]  # not "technical", not "general"
    (filled,) = second.tasks  # no spurious technical task
    assert filled.kind == "return"
    assert filled.params.product_name == "headphones"
    assert filled.params.reason_for_return == "they stopped charging"
    assert filled.missing() == []


async def test_pending_status_is_completed_by_a_bare_id() -> None:
    pending = (await plan("Where is my order?")).tasks
    assert [t.missing() for t in pending] == [["order_id"]]
    p = await plan("it's A-555", pending=pending)
    assert p.routes == ["status"]
    assert [(t.kind, t.params.order_id) for t in p.tasks] == [("status", "A-555")]


async def test_pending_status_is_completed_by_an_order_sentence_without_a_duplicate() -> None:
    pending = [Task(kind="status")]
    p = await plan("My order number is 5551234", pending=pending)
    assert [(t.kind, t.params.order_id) for t in p.tasks] == [("status", "5551234")]


async def test_pending_billing_is_completed_by_an_invoice_number() -> None:
    pending = [Task(kind="billing", params=TaskParams(concern="charged twice"))]
    p = await plan("INV-55", pending=pending)
    assert p.routes == ["billing"]
    assert p.tasks[0].params.invoice_number == "INV-55" and p.tasks[0].params.concern == "charged twice"


async def test_an_id_before_another_request_still_answers_the_open_question() -> None:
    p = await plan("A-555, and I'd also like to talk to a human", pending=[Task(kind="status")])
    assert [t.kind for t in p.tasks] == ["status", "human"]
    assert p.tasks[0].params.order_id == "A-555"
    assert set(p.routes) == {"status", "human"}


async def test_filled_pending_first_then_new_then_untouched() -> None:
    waiting_reason = Task(kind="return", params=TaskParams(product_name="headphones"))
    waiting_invoice = Task(kind="billing", params=TaskParams(concern="charged twice"))
    p = await plan(
        "I want to return my headphones because the left one is dead. Also where is order A-1?",
        pending=[waiting_invoice, waiting_reason],
    )
    assert [t.kind for t in p.tasks] == ["return", "status", "billing"]
    assert p.tasks[0].params.reason_for_return == "the left one is dead"
    assert p.tasks[1].params.order_id == "A-1"
    assert p.tasks[2] == waiting_invoice  # returned unchanged, still missing its invoice
    assert p.tasks[2].missing() == ["invoice_number"]
    assert p.routes == ["return", "status"]


async def test_a_new_request_leaves_pending_tasks_unchanged() -> None:
    waiting = Task(kind="return", params=TaskParams(product_name="headphones"))
    p = await plan("Where is order A-9?", pending=[waiting])
    assert p.routes == ["status"]
    assert [t.kind for t in p.tasks] == ["status", "return"]
    assert p.tasks[1] == waiting


async def test_a_different_product_is_a_new_return_not_an_answer() -> None:
    waiting = Task(kind="return", params=TaskParams(product_name="headphones"))
    p = await plan("I also want to return my kettle because it leaks", pending=[waiting])
    assert [(t.kind, t.params.product_name) for t in p.tasks] == [("return", "kettle"), ("return", "headphones")]
    assert p.tasks[1].missing() == ["reason_for_return"]


async def test_a_pleasantry_answers_nothing() -> None:
    waiting = Task(kind="return", params=TaskParams(product_name="headphones"))
    p = await plan("thanks!", pending=[waiting])
    assert p.tasks == [waiting] and p.tasks[0].missing() == ["reason_for_return"]


async def test_product_and_reason_from_one_reply() -> None:
    waiting = (await plan("I'd like to return something")).tasks
    assert waiting[0].missing() == ["product_name", "reason_for_return"]
    p = await plan("the blue kettle, it leaks", pending=waiting)
    assert (p.tasks[0].params.product_name, p.tasks[0].params.reason_for_return) == ("blue kettle", "it leaks")


async def test_one_task_per_invoice_and_per_order() -> None:
    p = await plan("invoices INV-1 and INV-2 were charged twice, and where are orders A-1 and A-2?")
    assert p.routes == ["billing", "status"]
    assert [(t.kind, t.params.invoice_number or t.params.order_id) for t in p.tasks] == [
        ("billing", "INV-1"),
        ("billing", "INV-2"),
        ("status", "A-1"),
        ("status", "A-2"),
    ]
    assert p.tasks[0].params.concern == "charged twice"


async def test_technical_and_human_tasks() -> None:
    p = await plan("The app crashes on startup. Also, I want to speak to a person.")
    assert p.routes == ["technical", "human"]
    assert [t.kind for t in p.tasks] == ["technical", "human"]
    assert p.tasks[0].params.issue == "The app crashes on startup"


async def test_general_only_message_has_no_tasks() -> None:
    p = await plan("How do I reset my password?")
    assert p.routes == ["general"] and p.tasks == []


async def test_same_order_as_before_uses_the_thread_history() -> None:
    p = await plan("where is the same order as before?", history=["my order A-77 is late", "thanks"])
    assert [(t.kind, t.params.order_id) for t in p.tasks] == [("status", "A-77")]


async def test_task_count_is_capped() -> None:
    text = " ".join(f"Where is order A-{i}?" for i in range(40))
    assert len((await plan(text)).tasks) == MAX_TASKS


@pytest.mark.parametrize("text", ["", "   ", "🙂" * 100, "\x00\x1b\x7f", SPEC_MESSAGE * 400, "order #" * 14_000])
@pytest.mark.timeout(30)  # catastrophic regex backtracking would hang here; the normal cost is milliseconds
async def test_degenerate_and_huge_input(text: str) -> None:
    p = await plan(text, pending=[Task(kind="status")])
    assert p.routes and len(p.tasks) <= MAX_TASKS


async def test_a_restated_open_request_is_not_duplicated() -> None:
    p = await plan("where is my order??", pending=[Task(kind="status")])
    assert p.routes == ["status"]
    assert p.tasks == [Task(kind="status")]


async def test_a_malfunction_or_damage_reply_is_the_reason_for_the_open_return() -> None:
    waiting = Task(kind="return", params=TaskParams(product_name="kettle"))
    broken = await plan("The screen is broken", pending=[waiting])
    assert broken.tasks[0].params.reason_for_return == "The screen is broken"
    p = await plan("it arrived damaged", pending=[waiting])
    assert p.routes == ["return"]
    assert [(t.kind, t.params.reason_for_return) for t in p.tasks] == [("return", "arrived damaged")]


async def test_one_id_fills_one_open_task() -> None:
    p = await plan("A-10", pending=[Task(kind="status"), Task(kind="status")])
    assert [t.params.order_id for t in p.tasks] == ["A-10", None]


async def test_a_model_number_in_a_new_request_does_not_answer_an_open_question() -> None:
    waiting = Task(kind="billing", params=TaskParams(concern="charged twice"))
    p = await plan("I want to return my kettle model KX2000 because it leaks", pending=[waiting])
    assert p.tasks[-1] == waiting and waiting.missing() == ["invoice_number"]
