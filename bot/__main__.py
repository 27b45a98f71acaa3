"""Command line: ``python -m bot [--sandbox] [run|doctor|migrate]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError as SettingsError

from bot.logs import configure_logging
from bot.settings import ENV_FILE, SLACK_INSTALL_PATH, Settings, SlackMode

logger = logging.getLogger("bot")

SETUP_HELP = """\
Interview Bot needs Slack credentials before it can start. Missing: {missing}

  1. Create the Slack app from this repository's manifest.yml
     (https://api.slack.com/apps -> Create New App -> From an app manifest),
     replacing example.com with your PUBLIC_URL.
{settings}  3. Run `python -m bot doctor` to check every connection.
"""
# Step 2 for each way of running (bot/settings.py SlackMode): what is set chose it, and what it still needs.
SETUP_SETTINGS = {
    SlackMode.http: """\
  2. Install it to your workspace, then set (environment or a .env file):
       SLACK_BOT_TOKEN       the Bot User OAuth Token (xoxb-...), OAuth & Permissions page
       SLACK_SIGNING_SECRET  Basic Information -> App Credentials
     or SLACK_APP_TOKEN (xapp-..., with connections:write) to use Socket Mode,
     or SLACK_CLIENT_ID + SLACK_CLIENT_SECRET to let many workspaces install it.
""",
    SlackMode.socket: """\
  2. Socket Mode (SLACK_APP_TOKEN is set) also needs the bot's own token: install the app to
     your workspace, then set (environment or a .env file):
       SLACK_BOT_TOKEN       the Bot User OAuth Token (xoxb-...), OAuth & Permissions page
""",
    SlackMode.oauth: """\
  2. For OAuth (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set), set (environment or a .env file):
       SLACK_SIGNING_SECRET  Basic Information -> App Credentials
     Once the bot runs, each workspace installs the app at {install_url}
     and the bot keeps that workspace's token: there is none to set.
""",
}


def setup_help(settings: Settings, missing: list[str]) -> str:
    """What to do before the bot can start, for the way of running the settings chose."""
    install_url = settings.slack_install_url or f"PUBLIC_URL{SLACK_INSTALL_PATH}"
    step = SETUP_SETTINGS[settings.slack_mode].format(install_url=install_url)
    # A setting typed under another name is the likeliest reason one is missing: say so first.
    mistyped = "".join(f"\n  {line}" for line in settings.mistyped_names())
    return SETUP_HELP.format(missing=", ".join(missing) + mistyped, settings=step)


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
    except UnicodeDecodeError as exc:
        # The .env file (the environment's values are text already): saved as UTF-16, as Windows
        # PowerShell's `echo … > .env` does, or in a legacy code page. It was a traceback.
        env_file = Path(ENV_FILE).resolve()
        print(
            f"{env_file}: not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8, or set the "
            "settings in the environment instead",
            file=sys.stderr,
        )
        return None
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
    level = settings.log_level
    if args.command != "run" and level == "INFO":
        # doctor and migrate say what they found and did themselves; the server's INFO lines (each
        # migration applied) would only come before it. LOG_LEVEL=DEBUG still shows everything.
        level = "WARNING"
    configure_logging(level, secrets=secrets)
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

    # doctor reports these as its config check; migrate does not use Slack.
    malformed = settings.slack_token_problems()
    for line in malformed.values():
        print(line, file=sys.stderr)
    missing = settings.missing_slack_settings()
    if missing:
        print(setup_help(settings, missing), file=sys.stderr)
    if malformed or missing:
        return 2
    from bot.errors import StartupFailed
    from bot.server import serve_forever

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_forever(settings, sandbox=args.sandbox))
    except StartupFailed as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
