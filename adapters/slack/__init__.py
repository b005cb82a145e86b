"""Slack: slack-bolt in Socket Mode or HTTP mode, bound to the support service and the command registry."""

from .adapter import SlackAdapter

__all__ = ["SlackAdapter"]
