"""Discord: a discord.py client on the gateway, bound to the support service and the command registry."""

from .adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
