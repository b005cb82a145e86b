"""The webhook's answer, validated per kind: `{"details": {...}, "message": "...", "needs_staff": false}`.

The detail fields are the case fields of each kind. A back office may add fields of its own (kept in
the case). An answer that does not need staff must carry the fields the reply is built on: billing
`action_taken`, return `rma_number` and `shipping_instructions`, status `current_status`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Text = Annotated[str, Field(max_length=2000)]


class _Details(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class BillingDetails(_Details):
    invoice_number: Text | None = None
    concern: Text | None = None
    action_taken: Text | None = None
    resolution_eta: Text | None = None


class ReturnDetails(_Details):
    product_name: Text | None = None
    reason_for_return: Text | None = None
    rma_number: Annotated[str, Field(max_length=64)] | None = None
    shipping_instructions: Text | None = None


class StatusDetails(_Details):
    order_id: Text | None = None
    current_status: Text | None = None
    carrier: Text | None = None
    tracking_number: Annotated[str, Field(max_length=64)] | None = None
    expected_delivery: Text | None = None


DETAILS: dict[str, type[_Details]] = {"billing": BillingDetails, "return": ReturnDetails, "status": StatusDetails}
DECISIVE: dict[str, tuple[str, ...]] = {
    "billing": ("action_taken",),
    "return": ("rma_number", "shipping_instructions"),
    "status": ("current_status",),
}


class WebhookAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    details: dict[str, Any] = Field(default_factory=dict)
    message: Annotated[str, Field(max_length=2000)] | None = None
    needs_staff: bool = False

    @model_validator(mode="after")
    def _message_text(self) -> WebhookAnswer:
        self.message = (self.message or "").strip() or None
        return self


class InvalidAnswer(ValueError):
    """The back office answered 2xx with something that is not a valid answer for the task's kind."""


def parse_answer(kind: str, body: bytes) -> tuple[WebhookAnswer, dict[str, Any]]:
    """The answer and its validated details (None values dropped); raises `InvalidAnswer`."""
    try:
        answer = WebhookAnswer.model_validate_json(body)
        details = DETAILS[kind].model_validate(answer.details)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise InvalidAnswer(f"{where}: {err['msg']}") from None
    values = {k: v for k, v in details.model_dump().items() if v is not None}
    if not answer.needs_staff:
        missing = [name for name in DECISIVE[kind] if not values.get(name)]
        if missing:
            raise InvalidAnswer(f"details: {', '.join(missing)} required unless needs_staff is true")
    return answer, values
