"""Who views or changes a case: a `Viewer`, the staff policy, and the refusals (a customer sees only
their own cases; changing one is for staff)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from storage.lifecycle import CaseError

if TYPE_CHECKING:
    from storage.models import Case

    from ..settings import Settings

OPERATOR_PLATFORMS = ("cli", "shell")  # the local terminal: its operator is staff


class Viewer(Protocol):
    """Whoever views or changes a case (the chat commands' `Caller` is one)."""

    @property
    def platform(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def is_staff(self) -> bool: ...
    @property
    def actor(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    platform: str
    user_id: str
    is_staff: bool

    @property
    def actor(self) -> str:
        return f"{self.platform}:{self.user_id}"


def is_staff(settings: Settings, platform: str, user_id: str, role_ids: Sequence[str] = ()) -> bool:
    """The staff policy: the settings' lists; the local terminal (shell, CLI) is the operator's."""
    if platform in OPERATOR_PLATFORMS:
        return True
    if platform == "slack":
        return user_id in settings.staff_slack_user_ids
    if platform == "discord":
        return user_id in settings.staff_discord_user_ids or any(r in settings.staff_discord_role_ids for r in role_ids)
    return False


def may_be_staff(settings: Settings, platform: str, user_id: str) -> bool:
    """For an assignee named by id alone: False only when the settings say for certain that this user is
    not staff (a Discord member may be staff through a role an id does not show)."""
    if platform == "slack":
        return user_id in settings.staff_slack_user_ids
    if platform == "discord":
        return user_id in settings.staff_discord_user_ids or bool(settings.staff_discord_role_ids)
    return True


def can_view(viewer: Viewer, case: Case) -> bool:
    return viewer.is_staff or (case.platform == viewer.platform and case.customer_id == viewer.user_id)


class CaseNotVisible(CaseError):
    """No such case among those the viewer may see (missing and someone else's read the same)."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"No case {ref.strip()[:40]} found among the cases you can see.")
        self.ref = ref


class NotAllowed(CaseError):
    """The viewer lacks the right (staff only; a customer asking for another customer's cases)."""
