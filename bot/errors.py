"""Domain errors that are the user's (or the operator's) to fix, as opposed to vendor or programming errors."""

from __future__ import annotations

import traceback

from blocks.models import VENDOR_LABELS


class UserFacingError(Exception):
    """An expected problem with a message written for the person in Slack."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotConnectedError(UserFacingError):
    """No credential for a vendor: the user is offered the connect modal, not a stack trace."""

    def __init__(self, vendor: str, *, needs_user_key: bool = False) -> None:
        label = VENDOR_LABELS.get(vendor, vendor)
        hint = "Connect your own Spark Hire API key" if needs_user_key else f"Connect {label}"
        super().__init__(f"{label} is not connected yet. {hint} with `/interview connect`.")
        self.vendor = vendor


class ConnectionGoneError(UserFacingError):
    """The vendor account a request was reading through was disconnected meanwhile (perhaps through
    another process): nothing was set up with it; run again, the bot uses what is connected now."""

    def __init__(self, vendor: str) -> None:
        label = VENDOR_LABELS.get(vendor, vendor)
        super().__init__(
            f"The {label} account this would read through was disconnected just now. "
            "Run the command again to use what is connected now."
        )
        self.vendor = vendor


class NotAllowedError(UserFacingError):
    """The Slack user may not do this (e.g. workspace settings need an admin)."""


class BusyError(UserFacingError):
    """Someone else is doing the same thing right now; trying again a little later will work."""


class NotInstalledError(Exception):
    """No installation of the app in a workspace (OAuth mode): its tokens were revoked, or it was
    uninstalled without the event reaching the bot. Nothing can be posted there until it is installed."""

    def __init__(self, team_id: str) -> None:
        super().__init__(f"Interview Bot is not installed in workspace {team_id}")
        self.team_id = team_id


class StartupFailed(Exception):
    """The bot cannot start; the message is the whole line the operator reads.

    Args:
        message: One line naming the setting to check.
        exit_code: 2 for a setting that is wrong (retrying cannot help), 1 for a service that
            could not be reached (a platform restarting the process may get through).
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def raised_inside(error: BaseException, *packages: str) -> bool:
    """True when ``error`` passed through code of one of ``packages`` (module name prefixes).

    Tells apart the bare ``TimeoutError`` that asyncpg, SQLAlchemy's pre-ping and slack-sdk let
    through: the same type means a database, Slack or something else that did not answer.
    """
    return any(
        frame.f_globals.get("__name__", "").startswith(packages) for frame, _ in traceback.walk_tb(error.__traceback__)
    )
