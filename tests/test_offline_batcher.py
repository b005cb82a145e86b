"""The encoder's thread: calls that arrive while a run is under way go together in the next run, each
caller gets its own rows, a failure reaches only the calls of its run, and batching changes no route."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.support import spin_cpu
from workflows.offline import semantic
from workflows.offline.batcher import Batcher


class Gate:
    """A batch function that records its runs and holds the first one until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.seen: list[list[str]] = []

    def __call__(self, items: list[str]) -> list[str]:
        self.seen.append(list(items))
        self.started.set()
        self.release.wait(timeout=30)
        if "boom" in items:
            raise ValueError("boom")
        return [item.upper() for item in items]

    async def first_run_started(self) -> None:
        await asyncio.to_thread(self.started.wait, 30)


async def test_calls_made_during_a_run_share_the_next_run() -> None:
    gate = Gate()
    batcher = Batcher(gate, name="test-batcher")
    first = asyncio.ensure_future(batcher(["a"]))
    await gate.first_run_started()
    rest = [asyncio.ensure_future(batcher(items)) for items in (["b", "c"], ["d"], ["e", "f", "g"])]
    await asyncio.sleep(0)  # the callers queue their items
    gate.release.set()
    assert await first == ["A"]
    assert [await r for r in rest] == [["B", "C"], ["D"], ["E", "F", "G"]]
    assert gate.seen == [["a"], ["b", "c", "d", "e", "f", "g"]]
    assert (batcher.runs, batcher.items) == (2, 7)


async def test_the_run_threads_cpu_is_counted_and_its_waiting_is_not() -> None:
    gate = Gate()  # its first run waits (no CPU) until released
    batcher = Batcher(lambda items: (spin_cpu(0.05), gate(items))[1], name="test-batcher")
    first = asyncio.ensure_future(batcher(["a"]))
    await gate.first_run_started()
    await asyncio.to_thread(time.sleep, 0.3)  # wall time the run spends waiting, not computing
    gate.release.set()
    assert await first == ["A"]
    assert 0.05 <= batcher.cpu_s < 0.25


async def test_a_failed_run_fails_its_calls_only() -> None:
    gate = Gate()
    batcher = Batcher(gate, name="test-batcher")
    first = asyncio.ensure_future(batcher(["a"]))
    await gate.first_run_started()
    doomed = [asyncio.ensure_future(batcher(items)) for items in (["boom"], ["b"])]
    await asyncio.sleep(0)
    gate.release.set()
    assert await first == ["A"]
    for call in doomed:
        with pytest.raises(ValueError, match="boom"):
            await call
    assert await batcher(["z"]) == ["Z"]


async def test_a_cancelled_call_is_left_out_of_the_run() -> None:
    gate = Gate()
    batcher = Batcher(gate, name="test-batcher")
    first = asyncio.ensure_future(batcher(["a"]))
    await gate.first_run_started()
    cancelled, kept = asyncio.ensure_future(batcher(["x"])), asyncio.ensure_future(batcher(["y"]))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    gate.release.set()
    assert await first == ["A"] and await kept == ["Y"]
    assert gate.seen == [["a"], ["y"]]


async def test_a_run_takes_at_most_max_items() -> None:
    gate = Gate()
    batcher = Batcher(gate, name="test-batcher", max_items=3)
    first = asyncio.ensure_future(batcher(["a"]))
    await gate.first_run_started()
    rest = [asyncio.ensure_future(batcher(items)) for items in (["b", "c"], ["d", "e"], ["f"])]
    await asyncio.sleep(0)
    gate.release.set()
    await first
    assert [await r for r in rest] == [["B", "C"], ["D", "E"], ["F"]]
    assert gate.seen == [["a"], ["b", "c"], ["d", "e", "f"]]


needs_encoder = pytest.mark.skipif(not semantic.available(), reason="the sentence encoder package is not installed")

TEXTS = [
    "where is my order A-77777",
    "I was charged twice this month on invoice INV-2231, and I would like to know why that happened",
    "what is the weather like",
    "I want to return the lamp",
    "can I talk to a person please",
]


@needs_encoder
def test_a_text_reads_the_same_alone_or_in_a_batch_of_other_lengths() -> None:
    encoder = semantic.encoder()
    together = encoder.encode(TEXTS)
    for i, text in enumerate(TEXTS):
        assert abs(encoder.encode([text])[0] - together[i]).max() < 1e-6


@needs_encoder
async def test_concurrent_guesses_equal_one_at_a_time() -> None:
    alone = [await semantic.guess([text]) for text in TEXTS]
    together = await asyncio.gather(*(semantic.guess([text]) for text in TEXTS))
    assert [g and g[0].route for g in together] == [g and g[0].route for g in alone]
    assert all(a and b and abs(a[0].similarity - b[0].similarity) < 1e-6 for a, b in zip(alone, together, strict=True))


def test_runs_cut_texts_by_length_at_the_least_cost() -> None:
    assert semantic.runs([]) == []
    assert semantic.runs([10]) == [(0, 1)]
    assert semantic.runs([10, 11, 12, 12]) == [(0, 4)]  # a few padded tokens beat another run
    assert semantic.runs([5, 6, 60, 64]) == [(0, 2), (2, 4)]  # short texts are not padded to 64 tokens
