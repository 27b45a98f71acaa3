"""Slack listeners, one module per user flow; ``register_all`` wires them into a Bolt app."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import (
    command,
    connect,
    errors,
    fallback,
    find,
    help,
    home,
    invite,
    resend,
    share,
    shared_channels,
    subscriptions,
    uninstall,
)

FLOWS = (help, invite, resend, share, find, connect, subscriptions, shared_channels, home, uninstall)


def register_all(app: AsyncApp) -> None:
    errors.register(app)
    # Bolt tries listeners in order; /interview is the busiest request, so it is matched first
    # rather than after every action and view listener (py-spy: 37% of an ack's time).
    command.register(app, routes=command.collect_subcommands(FLOWS), fallback=help.on_help)
    for flow in FLOWS:
        flow.register(app)
    fallback.register(app)  # last: only what no flow claimed
