"""Command line: ``python -m bot [--sandbox] [run|doctor|migrate]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError as SettingsError

from bot.logs import configure_logging
from bot.settings import Settings

logger = logging.getLogger("bot")

SETUP_HELP = """\
Interview Bot needs Slack credentials before it can start. Missing: {missing}

  1. Create the Slack app from this repository's manifest.yml
     (https://api.slack.com/apps -> Create New App -> From an app manifest),
     replacing example.com with your PUBLIC_URL.
  2. Install it to your workspace, then set (environment or a .env file):
       SLACK_BOT_TOKEN       the Bot User OAuth Token (xoxb-...), OAuth & Permissions page
       SLACK_SIGNING_SECRET  Basic Information -> App Credentials
     or SLACK_APP_TOKEN (xapp-..., with connections:write) to use Socket Mode,
     or SLACK_CLIENT_ID + SLACK_CLIENT_SECRET to let many workspaces install it.
  3. Run `python -m bot doctor` to check every connection.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Interview Bot for Slack")
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "doctor", "migrate"],
        help="run the bot (default), check the configuration, or apply database migrations",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="serve fake WedgeHR and Spark Hire APIs on this server and use them",
    )
    return parser


def _load_settings() -> Settings | None:
    try:
        return Settings()
    except SettingsError as exc:
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            # A rule over several settings names them itself.
            print(f"Setting {name}: {message}" if name else message, file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _load_settings()
    if settings is None:
        return 2
    secrets = [
        s.get_secret_value()
        for s in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.slack_client_secret,
            settings.wedgehr_token,
            settings.sparkhire_api_key,
            settings.bot_secret_key,
        )
        if s is not None
    ]
    configure_logging(settings.log_level, secrets=secrets)
    try:
        settings.sqlalchemy_url  # noqa: B018 - validate DATABASE_URL early with a clear message
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2

    if args.command == "migrate":
        from bot.doctor import migrate

        return asyncio.run(migrate(settings))
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return asyncio.run(run_doctor(settings, sandbox=args.sandbox))

    missing = settings.missing_slack_settings()
    if missing:
        print(SETUP_HELP.format(missing=", ".join(missing)), file=sys.stderr)
        return 2
    from bot.server import StartupFailed, serve_forever

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_forever(settings, sandbox=args.sandbox))
    except StartupFailed as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
