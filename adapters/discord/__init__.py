"""Discord: a discord.py client on the gateway, bound to the core's Handlers."""

from .adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
