"""Slack: slack-bolt in Socket Mode or HTTP mode, bound to the core's Handlers."""

from .adapter import SlackAdapter

__all__ = ["SlackAdapter"]
