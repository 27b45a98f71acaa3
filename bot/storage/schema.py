"""Table definitions (SQLAlchemy Core). Times are UNIX seconds as floats on both dialects."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: subscriptions.job_filter's width: the grammar refuses a longer job name (bot/notify/grammar.py).
JOB_FILTER_MAX = 200
#: subscriptions.job_id's width: a Spark Hire job uuid or a WedgeHR interview id.
JOB_ID_MAX = 64

# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL wants BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Float, nullable=False),
)

connections = sa.Table(
    "vendor_connections",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("team_id", sa.String(32), nullable=False),
    sa.Column("vendor", sa.String(16), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),  # workspace | user
    # '' for workspace connections so the unique constraint works on both dialects.
    sa.Column("user_id", sa.String(32), nullable=False, server_default=""),
    sa.Column("credential", sa.Text, nullable=False),  # Fernet-encrypted
    sa.Column("environment", sa.String(16)),
    sa.Column("account_label", sa.String(200), nullable=False, server_default=""),
    sa.Column("connected_by", sa.String(32), nullable=False, server_default=""),
    sa.Column("webhook_uuid", sa.String(64)),
    sa.Column("webhook_auth", sa.Text),  # Fernet-encrypted "user:pass"
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("team_id", "vendor", "scope", "user_id", name="uq_connection_owner"),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("team_id", sa.String(32), nullable=False),
    sa.Column("channel_id", sa.String(32), nullable=False),
    sa.Column("vendor", sa.String(16), nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("job_filter", sa.String(JOB_FILTER_MAX)),
    sa.Column("excludes", sa.JSON, nullable=False),
    sa.Column("compact", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("connection_id", sa.String(32)),
    sa.Column("created_by", sa.String(32), nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("paused_reason", sa.String(200)),
    # When it was paused: a Re-enable queues what it missed since (SubscriptionRepo.resume_catching_up).
    sa.Column("paused_at", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    # The vendor's id of the job ``job_filter`` names, when subscribe found it: matched first, so a
    # job renamed at the vendor keeps its cards coming (None: matched by name, as rows saved before).
    sa.Column("job_id", sa.String(JOB_ID_MAX)),
    # When the vendor's job had the name ``job_filter`` shows (its updated_at, as a Job* event or a
    # lookup gave it): a rename delivered late (a retry of an older event) does not bring an older
    # name back. None: not known (saved before), any rename of the job applies.
    sa.Column("job_named_at", sa.Float),
    # When `/interview subscribe … shared` confirmed that people of another organisation may read the
    # channel (Slack Connect): a channel_shared event or Re-enable no longer pauses or refuses it.
    sa.Column("shared_confirmed_at", sa.Float),
    sa.Index("ix_subscriptions_team_vendor", "team_id", "vendor"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dedup_key", sa.String(255), nullable=False, unique=True),
    sa.Column("team_id", sa.String(32), nullable=False),
    sa.Column("vendor", sa.String(16), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(128), nullable=False, server_default=""),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Index("ix_events_received_at", "received_at"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("subscription_id", sa.BigInteger, nullable=False),
    sa.Column("team_id", sa.String(32), nullable=False),
    sa.Column("channel_id", sa.String(32), nullable=False),
    sa.Column("thread_key", sa.String(200), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("last_error", sa.String(500)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("sent_at", sa.Float),
    # When a post of this row may first have reached Slack without being recorded (the process died
    # mid-post, or Slack's answer was lost): the next attempt looks in the channel before posting.
    sa.Column("posting_since", sa.Float),
    sa.Index("ix_outbox_pending", "status", "team_id", "channel_id", "id"),
    # A Re-enable asks, per event it reads, whether the channel has it already (and counts the rest).
    sa.Index("ix_outbox_event_id", "event_id"),
)

# One lease per channel: keeps a channel's messages in order across processes and
# carries Slack's one-message-per-second pacing (next_post_at).
channel_leases = sa.Table(
    "channel_leases",
    metadata,
    sa.Column("channel_key", sa.String(80), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("next_post_at", sa.Float, nullable=False, server_default="0"),
)

slack_messages = sa.Table(
    "slack_messages",
    metadata,
    sa.Column("team_id", sa.String(32), primary_key=True),
    sa.Column("channel_id", sa.String(32), primary_key=True),
    sa.Column("thread_key", sa.String(200), primary_key=True),
    sa.Column("ts", sa.String(32), nullable=False),
    sa.Column("card", sa.JSON),
    sa.Column("updated_at", sa.Float, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("team_id", sa.String(32), nullable=False),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("vendor", sa.String(16)),
    sa.Column("target", sa.String(320)),
    sa.Column("detail", sa.JSON),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_audit_team_user", "team_id", "user_id", "id"),
)

poll_state = sa.Table(
    "poll_state",
    metadata,
    sa.Column("connection_id", sa.String(32), primary_key=True),
    sa.Column("state", sa.JSON),
    sa.Column("holder", sa.String(64)),
    sa.Column("lease_expires_at", sa.Float, nullable=False, server_default="0"),
)
