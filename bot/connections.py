"""Saving the vendor credentials a user connected, and what follows from replacing one."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.notify.subscriptions import follow_new_key
from bot.services import Services


@dataclass(frozen=True, kw_only=True)
class VerifiedCredentials:
    """What a connect submission set, each credential with the account label its vendor gave."""

    team_id: str
    user_id: str
    # Kept out of repr: these hold the raw token and keys.
    wedgehr: tuple[str, str, str] | None = field(default=None, repr=False)  # token, label, environment
    sparkhire_workspace: tuple[str, str] | None = field(default=None, repr=False)  # key, label
    sparkhire_user: tuple[str, str] | None = field(default=None, repr=False)  # key, label


@dataclass
class Saved:
    connected: list[tuple[str, str]] = field(default_factory=list)  # (vendor, label shown to the user)
    notes: list[str] = field(default_factory=list)


async def save_verified(services: Services, credentials: VerifiedCredentials) -> Saved:
    """Store verified credentials (encrypted), audit them, and keep subscribed channels' events coming."""
    team_id, user_id = credentials.team_id, credentials.user_id
    repo = services.db.connections
    before = {(c.vendor, c.scope, c.user_id): c for c in await repo.list_for_team(team_id)}
    saved = Saved()
    if credentials.wedgehr:
        token, label, env = credentials.wedgehr
        old = before.get(("wedgehr", "workspace", None))
        after = await repo.upsert_workspace(
            team_id, "wedgehr", token, account_label=label, connected_by=user_id, environment=env
        )
        if old is not None and (not old.readable or old.credential != after.credential or old.environment != env):
            resumed = await services.follow_new_wedgehr_token(team_id, after.id)
            if resumed:
                saved.notes.append(
                    f"Re-enabled {resumed} WedgeHR subscription(s) paused because WedgeHR rejected the old token."
                )
        saved.connected.append(("wedgehr", f"{label} ({env})"))
    if credentials.sparkhire_workspace:
        key, label = credentials.sparkhire_workspace
        after = await repo.upsert_workspace(team_id, "sparkhire", key, account_label=label, connected_by=user_id)
        saved.notes += await follow_new_key(services, before=before.get(("sparkhire", "workspace", None)), after=after)
        saved.connected.append(("sparkhire", label + " (workspace)"))
    if credentials.sparkhire_user:
        key, label = credentials.sparkhire_user
        after = await repo.upsert_user(team_id, user_id, "sparkhire", key, account_label=label)
        saved.notes += await follow_new_key(services, before=before.get(("sparkhire", "user", user_id)), after=after)
        saved.connected.append(("sparkhire", label + " (yours)"))
    for vendor, label in saved.connected:
        await services.db.audit.add(
            team_id=team_id, user_id=user_id, action="connection.set", vendor=vendor, target=label
        )
    return saved
