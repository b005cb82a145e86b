"""The `supportbot` command line. Exit codes: 0 success, 2 usage error, 1 any other failure; errors
are one line on stderr unless --debug is given.

Commands load lazily: `supportbot route …` imports the router and nothing else — not the platform SDKs,
the FAQ pipeline, the bench suite or the settings model. Each command lives in its own module, named in
COMMANDS.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from .cli_common import Failure, LazyGroup, settings_from
from .settings import SettingsError

_log = logging.getLogger(__name__)

# Every subcommand: name → "module:attribute", imported only when it runs (or `--help` lists it).
# Adding a command is one line here; its module holds a click command or group.
COMMANDS = {
    "ask": "bot.cli_chat:ask",
    "bench": "bot.cli_bench:bench",
    "cases": "bot.cli_cases:cases",
    "chat": "bot.cli_chat:chat",
    "console": "bot.cli_console:console",
    "customers": "bot.cli_customers:customers",
    "db": "bot.cli_db:db",
    "discord": "bot.cli_discord:discord",
    "faq": "bot.cli_faq:faq",
    "inbox": "bot.cli_inbox:inbox",
    "route": "bot.cli_route:route",
    "run": "bot.cli_run:run",
    "worker": "bot.cli_worker:worker",
}
# Commands that load the settings they use themselves: `route` needs none to run offline. Every other
# command has all the settings validated before it starts.
OWN_SETTINGS = {"route"}


class UsageFailure(click.UsageError):
    """A usage error as one line naming the command's help (exit code 2)."""

    def show(self, file: Any = None) -> None:
        where = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"error: {self.format_message()}{where}", err=True)


class SupportbotGroup(LazyGroup):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise UsageFailure(exc.format_message(), exc.ctx) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except SettingsError as exc:
            raise Failure(str(exc)) from exc
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise Failure(f"{message} (run with --debug for details)") from exc


@click.group(cls=SupportbotGroup, lazy_subcommands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="supportbot", prog_name="supportbot", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """supportbot — a customer-support bot for Slack and Discord."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    from .logs import configured_secrets, secret_values, setup_logging

    if ctx.invoked_subcommand not in OWN_SETTINGS:
        try:
            settings_from(ctx)
        except SettingsError as exc:
            raise Failure(str(exc)) from None

    def secrets() -> list[str]:
        settings = ctx.obj.get("settings")
        return secret_values(settings) if settings is not None else configured_secrets()

    setup_logging(secrets, level=logging.DEBUG if debug else logging.WARNING)
