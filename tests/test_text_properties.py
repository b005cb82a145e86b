"""Property-based tests (hypothesis) of the text the bot takes in and sends out: markdown ↔ Slack mrkdwn
and Discord markdown, splitting at every platform limit, mention and link defusing, offline entity
extraction, and the Slack event → `Inbound` path. For any input: nothing raises, every limit holds, and
no mention or masked link written by a customer is live in what the bot posts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.discord import embeds as discord_embeds
from adapters.platform import CommandResult, ResultItem
from adapters.slack import blocks as slack_blocks
from adapters.slack import events as slack_events
from adapters.slack import mrkdwn
from workflows.offline import entities
from workflows.text import clean_text, defuse

settings.register_profile(
    "supportbot",
    deadline=None,
    max_examples=120,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("supportbot")

# Pieces that matter to the converters, mixed with arbitrary text: mentions in both platforms' wire
# forms, masked links, markdown syntax, Slack entities, separators and odd characters.
TOKENS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0123|@support>",
    "<!date^1392734382^{date}|Feb 18>",
    "<@U0123ABCD>",
    "<@W0123ABCD|ann>",
    "<@UBOT>",
    "<#C0123ABCD|general>",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&123456789012345678>",
    "<@12345678901234567890123456>",
    "@everyone",
    "@here",
    "@channel",
    "@everyone_",
    "@hereby",
    "@EVERYONE",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "|",
    "!",
    "&",
    "&amp;",
    "&lt;",
    "&gt;",
    "&#60;",
    "http://evil.example/x",
    "https://a.example/b?c=d&e=f",
    "mailto:x@evil.example",
    "<http://evil.example|safe>",
    "[click](http://evil.example)",
    "](http://evil.example)",
    "[" + "a" * 301,
    "[https://bank.example](https://evil.example)",
    "[x](<https://evil.example>)",
    "**",
    "*",
    "_",
    "~~",
    "`",
    "```",
    "# ",
    "- ",
    "> ",
    "\n",
    "\n\n",
    " ",
    "  ",
    "\t",
    ".",
    ". ",
    "INV-7890",
    "order #A-12345",
    "invoice 5551234",
    "return my blue kettle",
    "because it leaks",
    "charged twice",
    "\u200b",
    "é",
    "東京",
    "🙂",
    "\x00",
    "\x1b",
    "\ufeff",
]
token_text = st.lists(st.sampled_from(TOKENS) | st.text(max_size=6), max_size=40).map("".join)
any_text = st.text(max_size=300) | token_text
# A customer's text as it reaches the core: cleaned the way the pipeline cleans it.
customer_text = any_text.map(lambda t: clean_text(t)[0])

_SLACK_LINK = re.compile(r"<(https?://[^\s|<>]+)\|([^<>]*)>")
_DISCORD_MASKED = re.compile(r"\[([^\]]*)\]\(\s*<?((?:https?|mailto):[^)\s>]+)>?\s*\)", re.I)
_DISCORD_PING = re.compile(r"<@[!&]?\d+>")
_MASS = re.compile(r"@(everyone|here)", re.I)


def live_discord_problems(text: str) -> list[str]:
    problems = [m.group(0) for m in _DISCORD_PING.finditer(text)] + [m.group(0) for m in _MASS.finditer(text)]
    for m in _DISCORD_MASKED.finditer(text):
        if m.group(1).strip() not in ("", m.group(2)):
            problems.append(m.group(0))
    return problems


def live_slack_problems(text: str) -> list[str]:
    """Anything Slack would act on: a `<…>` that is not a link to what its label says, or a bare `<`
    (the start of a control sequence; a bare `>` is text, or a quote at the start of a line)."""
    problems = [m.group(0) for m in _SLACK_LINK.finditer(text) if m.group(2) not in ("", m.group(1))]
    rest = _SLACK_LINK.sub("", text)
    return problems + [c for c in rest if c == "<"]


# --- mention and link defusing ------------------------------------------------------------------------------


@given(customer_text)
@example("[[a](http://x.example)](http://evil.example)")  # a link nested in another's label
@example("[" + "a" * 301 + "](http://evil.example)")  # a label longer than the link pattern reads
def test_defused_text_has_no_live_discord_mention_or_masked_link(text: str) -> None:
    assert live_discord_problems(defuse(text)) == []


@given(customer_text)
@example("[[a](http://x.example)](http://evil.example)")
@example("[" + "a" * 301 + "](http://evil.example)")
def test_defused_text_sent_to_slack_has_no_live_mention_or_masked_link(text: str) -> None:
    assert live_slack_problems(mrkdwn.to_mrkdwn(defuse(text))) == []


@given(customer_text)
def test_defuse_keeps_every_word_visible(text: str) -> None:
    """Defusing changes how mentions and links look, never drops the letters and digits a customer wrote."""

    def letters(s: str) -> str:
        return "".join(c for c in s if c.isalnum())

    it = iter(letters(defuse(text)))
    assert all(c in it for c in letters(text))  # in order, none dropped


# --- markdown ↔ Slack mrkdwn ------------------------------------------------------------------------------


@given(any_text)
def test_to_mrkdwn_never_raises_and_leaves_nothing_live(text: str) -> None:
    out = mrkdwn.to_mrkdwn(text)
    assert not re.search(r"<[!@#]", out)
    assert "<" not in _SLACK_LINK.sub("", out)


@given(any_text, st.sampled_from([None, "UBOT"]), st.booleans())
def test_from_slack_never_raises(text: str, bot: str | None, labels: bool) -> None:
    out = mrkdwn.from_slack(text, bot_user_id=bot, link_labels=labels)
    assert isinstance(out, str)
    if bot:
        assert "<@UBOT" not in out


@given(any_text)
def test_escaped_text_reads_back_as_written(text: str) -> None:
    """What the bot escapes for Slack, Slack's wire decoding gives back exactly."""
    assert mrkdwn.from_slack(mrkdwn.escape(text)) == text.strip()


@given(
    st.text(
        alphabet=st.characters(blacklist_characters="*_~`#->[]()|<&!@\n\r", blacklist_categories=("Cs",)), max_size=200
    )
)
def test_plain_text_round_trips_through_mrkdwn(text: str) -> None:
    assert mrkdwn.from_slack(mrkdwn.to_mrkdwn(text)) == text.strip()


# --- splitting at every platform limit ---------------------------------------------------------------------


def _words(text: str) -> str:
    return "".join(text.split())


long_text = st.lists(
    st.sampled_from(TOKENS) | st.text(min_size=1, max_size=12) | st.just("x" * 700), min_size=1, max_size=400
).map("".join)


@given(long_text | any_text, st.integers(1, 400) | st.sampled_from([3000, 2000, 4096, 1024, 256, 150]))
def test_slack_split_respects_the_limit_and_loses_nothing(text: str, limit: int) -> None:
    pieces = mrkdwn.split_text(text, limit)
    assert pieces and all(0 < len(p) <= limit for p in pieces)
    if text.strip():
        assert "".join(_words(p) for p in pieces) == _words(text)


@given(long_text | any_text, st.integers(1, 400) | st.sampled_from([2000, 4096, 1024, 256]))
def test_discord_split_respects_the_limit_and_loses_nothing(text: str, limit: int) -> None:
    pieces = discord_embeds.split_text(text, limit)
    assert pieces and all(0 < len(p) <= limit for p in pieces)
    if text.strip():
        assert "".join(_words(p) for p in pieces) == _words(text)


@given(long_text | any_text)
@example("<" * 1999 + "a" * 2)
@example("x" + "&" * 3000)
def test_slack_reply_pages_never_cut_an_entity_or_a_link(text: str) -> None:
    for page in slack_blocks.text_pages(text):
        assert 0 < len(page.text) <= mrkdwn.MAX_TEXT_CHARS
        assert not re.search(r"&(?!(amp|lt|gt);)", page.text)  # every & the escaping wrote, whole
        assert "<" not in _SLACK_LINK.sub("", page.text)  # every link whole


items = st.builds(
    ResultItem,
    title=any_text | long_text,
    body=any_text | long_text,
    fields=st.lists(st.tuples(any_text, any_text | long_text), max_size=30),
    url=st.sampled_from(["", "https://docs.example/a", "javascript:alert(1)", "http://" + "a" * 3000]),
    footer=any_text,
)
results = st.builds(CommandResult, text=any_text | long_text, title=any_text, items=st.lists(items, max_size=12))


@settings(max_examples=40)
@given(results)
def test_slack_command_results_fit_every_block_kit_limit(result: CommandResult) -> None:
    for page in slack_blocks.render_result(result):
        assert 0 < len(page.text) <= slack_blocks.MAX_FALLBACK_CHARS
        assert len(page.blocks) <= slack_blocks.MAX_BLOCKS
        assert len(json.dumps(page.blocks, ensure_ascii=False)) <= slack_blocks.MAX_MESSAGE_CHARS
        for block in page.blocks:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= slack_blocks.MAX_HEADER_CHARS
            if block["type"] == "section":
                assert len(block.get("text", {}).get("text", "")) <= mrkdwn.MAX_TEXT_CHARS
                assert len(block.get("fields", [])) <= slack_blocks.MAX_FIELDS
                assert all(len(f["text"]) <= slack_blocks.MAX_FIELD_CHARS for f in block.get("fields", []))


@settings(max_examples=40)
@given(results)
def test_discord_command_results_fit_every_embed_limit(result: CommandResult) -> None:
    for page in discord_embeds.render_result(result):
        assert len(page.content) <= discord_embeds.MAX_CONTENT
        assert page.content or page.embeds
        assert len(page.embeds) <= discord_embeds.MAX_EMBEDS
        assert sum(len(e) for e in page.embeds) <= discord_embeds.MAX_EMBED_TOTAL
        for embed in page.embeds:
            assert len(embed) > 0
            assert len(embed.title or "") <= discord_embeds.MAX_TITLE
            assert len(embed.description or "") <= discord_embeds.MAX_DESCRIPTION
            assert len(embed.fields) <= discord_embeds.MAX_FIELDS
            assert all(
                len(f.name or "") <= discord_embeds.MAX_FIELD_NAME
                and len(f.value or "") <= discord_embeds.MAX_FIELD_VALUE
                for f in embed.fields
            )
            assert len(embed.footer.text or "") <= discord_embeds.MAX_FOOTER
            assert embed.url is None or embed.url.startswith(("http://", "https://"))


# --- offline entity extraction -------------------------------------------------------------------------------


def _visible(value: str, text: str) -> bool:
    """Every word of `value` is in `text` (case and surrounding punctuation aside)."""
    low = text.lower()
    return all(word.strip(".,!?;:'\"’“”").lower() in low for word in value.split())


@given(any_text)
def test_entities_come_from_the_customers_own_words(text: str) -> None:
    for find in (entities.find_invoice_numbers, entities.find_order_ids, entities.find_references):
        assert all(value and value in text for value in find(text))
    for find in (
        entities.find_product_name,
        entities.find_return_reason,
        entities.reason_from_answer,
        entities.find_technical_issue,
    ):
        value = find(text)
        assert value is None or (value.strip() and _visible(value, text))
    concern = entities.find_billing_concern(text)
    assert concern is None or _visible(concern.replace("than expected", ""), text)


@pytest.mark.timeout(30)  # catastrophic regex backtracking would hang here; the normal cost is milliseconds
@settings(max_examples=25)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=8))
def test_entity_extraction_stays_fast_on_long_hostile_input(tokens: list[str]) -> None:
    text = clean_text(("".join(tokens) + " ") * 400)[0]  # up to the 4,000 characters a message may have
    for find in (
        entities.find_invoice_numbers,
        entities.find_order_ids,
        entities.find_references,
        entities.find_product_name,
        entities.find_return_reason,
        entities.reason_from_answer,
        entities.find_billing_concern,
        entities.find_technical_issue,
    ):
        find(text)


# --- the Slack event → Inbound path -----------------------------------------------------------------------

json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
events = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "app_mention"])},
    optional={
        "subtype": st.sampled_from(["file_share", "thread_broadcast", "message_changed", "bot_message"]) | json_value,
        "channel": st.sampled_from(["C0123", "D0456"]) | json_value,
        "channel_type": st.sampled_from(["channel", "im", "group", "mpim"]) | json_value,
        "user": st.sampled_from(["U0123ABCD", "UBOT"]) | json_value,
        "text": token_text | json_value,
        "ts": st.sampled_from(["1700000000.000100"]) | json_value,
        "thread_ts": st.sampled_from(["1700000000.000100", "1690000000.000001"]) | json_value,
        "bot_id": st.none() | st.just("B1"),
        "hidden": st.booleans(),
        "team": json_value,
        "user_profile": st.fixed_dictionaries({}, optional={"display_name": json_value, "real_name": json_value})
        | json_value,
    },
)


@given(events)
def test_slack_events_become_inbound_messages_without_raising(event: dict[str, Any]) -> None:
    if not slack_events.is_new_text(event):  # type: ignore[arg-type]
        return
    inbound = slack_events.to_inbound(event, bot_user_id="UBOT", event_id="Ev1")  # type: ignore[arg-type]
    assert inbound.platform == "slack" and inbound.text and isinstance(inbound.user_name, str)
    assert inbound.message_id == f"{event['channel']}:{event['ts']}"
    assert inbound.thread_id in (event["ts"], event.get("thread_ts"))
    assert "<@UBOT" not in inbound.text
    echoed = defuse(clean_text(inbound.text)[0])
    assert live_slack_problems(mrkdwn.to_mrkdwn(echoed)) == [] and live_discord_problems(echoed) == []


@settings(max_examples=40)
@given(customer_text)
async def test_a_model_reply_is_defused_before_it_is_posted(text: str) -> None:
    """A model talked into echoing a mention or a masked link does not get it posted live."""
    from workflows.llm.runner import StepRunner
    from workflows.llm.scripted import FunctionLLM
    from workflows.synthesizer import ReplyAnswer, ReplyContext, synthesize

    model = FunctionLLM(lambda request: ReplyAnswer(reply=f"Sure! {text} [details](http://evil.example) @everyone"))
    reply = await synthesize(ReplyContext(text="hello", routes=["general"]), StepRunner(model))
    assert live_discord_problems(reply) == [] and live_slack_problems(mrkdwn.to_mrkdwn(reply)) == []
