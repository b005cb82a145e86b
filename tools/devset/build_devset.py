"""Rebuild the out-of-domain dev and validation sets from public, human-written intent datasets.

    python tools/devset/build_devset.py --clinc CLINC/data/data_full.json --banking BANKING77/banking_data

Each source intent is mapped to one of our routes, or left out when the mapping would be a guess (bank
cards, transfers). The dev set (`dev.csv`) comes from the sources' test splits; the validation set
(`val.csv`, used only to set the confidence threshold) from their validation/training splits, so the
two never share a message. `world.csv` (HWU64, a home assistant's requests, all `general`) measures how
often a question about the world would open a case. Sampling is seeded: the same sources give the same
files. Sources, licenses and commits are in SOURCES.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

# CLINC150: a shopping bot's routes for a general-purpose assistant's intents. Everything not listed is
# `general` (weather, trivia, small talk, travel, cooking, cars, HR, out-of-scope), except EXCLUDED.
CLINC_ROUTES = {"order_status": "status", "bill_balance": "billing", "bill_due": "billing", "pay_bill": "billing"}
CLINC_EXCLUDED = frozenset(
    """card_declined transactions report_fraud spending_history min_payment damaged_card
replacement_card_duration international_fees account_blocked freeze_account balance credit_limit credit_limit_change
expiration_date pin_change new_card report_lost_card application_status sync_device find_phone reset_settings
""".split()
)
# banking77: only the intents that are plainly about charges, refunds or something ordered not arriving.
BANKING_ROUTES = {
    "transaction_charged_twice": "billing",
    "extra_charge_on_statement": "billing",
    "card_payment_fee_charged": "billing",
    "card_payment_not_recognised": "billing",
    "direct_debit_payment_not_recognised": "billing",
    "declined_card_payment": "billing",
    "request_refund": "return",
    "Refund_not_showing_up": "return",
    "card_arrival": "status",
    "card_delivery_estimate": "status",
}
# HWU64 (a home assistant's requests): all general for a shop's support bot, except asking after a takeaway
# order, which is an order's status of another kind.
HWU_EXCLUDED = frozenset({"takeaway_query"})
GENERAL_PER_INTENT = {"dev": 10, "val": 5}  # general intents are many: a sample of each keeps the set balanced


def _clinc(path: Path, split: str, oos_split: str, rng: random.Random, per_intent: int) -> list[dict[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    by_intent: dict[str, list[str]] = {}
    for text, intent in data[split]:
        by_intent.setdefault(intent, []).append(text)
    rows = []
    for intent, texts in sorted(by_intent.items()):
        if intent in CLINC_EXCLUDED:
            continue
        route = CLINC_ROUTES.get(intent, "general")
        chosen = texts if route != "general" else rng.sample(texts, min(per_intent, len(texts)))
        rows += [{"instruction": t, "route": route, "source": "clinc150", "intent": intent} for t in chosen]
    oos = [t for t, _ in data[oos_split]]
    rows += [
        {"instruction": t, "route": "general", "source": "clinc150", "intent": "oos"}
        for t in rng.sample(oos, min(len(oos), 20 * per_intent))
    ]
    return rows


def _banking(path: Path, rng: random.Random, limit: int | None) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        by_intent: dict[str, list[str]] = {}
        for row in csv.DictReader(f):
            if row["category"] in BANKING_ROUTES:
                by_intent.setdefault(row["category"], []).append(row["text"])
    rows = []
    for intent, texts in sorted(by_intent.items()):
        chosen = texts if limit is None else rng.sample(texts, min(limit, len(texts)))
        rows += [
            {
                "instruction": " ".join(t.split()),
                "route": BANKING_ROUTES[intent],
                "source": "banking77",
                "intent": intent,
            }
            for t in chosen
        ]
    return rows


def _hwu(folder: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted(folder.glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")).get("test_data_annotation", []):
            if item["intent"] not in HWU_EXCLUDED:
                rows.append(
                    {
                        "instruction": " ".join(item["text"].split()),
                        "route": "general",
                        "source": "hwu64",
                        "intent": item["intent"],
                    }
                )
    return rows


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["instruction", "route", "source", "intent"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{path.name}: {len(rows)} rows")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinc", type=Path, required=True, help="CLINC150 data/data_full.json")
    parser.add_argument("--banking", type=Path, required=True, help="banking77 folder banking_data/")
    parser.add_argument(
        "--hwu", type=Path, help="HWU64 CrossValidation/.../KFold_1/testset/annotated/ (world questions)"
    )
    args = parser.parse_args()
    rng = random.Random(17)
    dev = _clinc(args.clinc, "test", "oos_test", rng, GENERAL_PER_INTENT["dev"]) + _banking(
        args.banking / "test.csv", rng, None
    )
    val = _clinc(args.clinc, "val", "oos_val", rng, GENERAL_PER_INTENT["val"]) + _banking(
        args.banking / "train.csv", rng, 15
    )
    _write(HERE / "dev.csv", dev)
    _write(HERE / "val.csv", val)
    if args.hwu is not None:
        _write(HERE / "world.csv", _hwu(args.hwu))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
