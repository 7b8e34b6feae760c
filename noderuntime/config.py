"""Runtime configuration: execution mode, pool, per-run budgets, egress.

Every field has a documented default (README, "Limits"). A config can be built
in code, read from a JSON file (``Config.from_file``), and overridden by
``NODERUNTIME_*`` environment variables (``Config.from_env``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

MODES = ("isolated", "inprocess")


@dataclass(frozen=True)
class Limits:
    """Budgets of one run. Exceeding one ends the run with an error naming it."""

    wall_ms: int = 10_000
    cpu_ms: int = 2_000
    memory_mb: int = 256
    method_calls: int = 200
    http_requests: int = 20
    http_bytes: int = 5_000_000
    log_bytes: int = 65_536
    #: Default timeout of one fetch when the script gives none (capped by the
    #: time left in ``wall_ms``).
    fetch_timeout_ms: int = 10_000
    #: Most documents (or distinct values) one read returns; a script may ask
    #: for fewer with ``limit``. A cut read says so in the run's log.
    read_documents: int = 1_000


@dataclass(frozen=True)
class AgendaSettings:
    """How the agenda scheduler claims, runs and retries agendas."""

    #: How long a claimed agenda stays locked. A worker that dies mid-job
    #: frees it when the lock expires; it must outlast the longest node chain.
    lock_ms: int = 600_000
    #: Runs of one occurrence before it is given up (a pattern moves on to its
    #: next occurrence; a one-shot agenda is completed as failed).
    max_attempts: int = 5
    #: The first retry waits this long; each later one twice as long.
    retry_ms: int = 30_000
    #: The longest a worker sleeps when nothing is due (it wakes sooner for
    #: an agenda due sooner).
    poll_ms: int = 1_000
    #: Due agendas a worker reads at once before claiming them one by one.
    batch: int = 100


@dataclass(frozen=True)
class LiveChatSettings:
    """How live chats are relayed to outlets and timed out."""

    #: Attempts of one outlet call before it is given up.
    max_attempts: int = 8
    #: The first retry of an outlet call waits this long; each later one twice
    #: as long (a 429's own wait when longer), up to ``max_retry_ms``.
    retry_ms: int = 2_000
    max_retry_ms: int = 300_000
    #: How long a claimed outbox line or inbox event stays locked.
    lock_ms: int = 60_000
    #: The longest the live-chat worker sleeps when nothing is due.
    poll_ms: int = 500
    #: Calls to one outlet channel in flight at once: a slow outlet holds no more.
    calls_per_outlet: int = 4
    #: Minutes a request may wait for an agent before the live chat ends
    #: (an outlet channel's ``liveChat.unansweredMinutes`` overrides it).
    unanswered_minutes: float = 10
    #: Minutes a live chat may stay quiet before it ends (``liveChat.idleMinutes``).
    idle_minutes: float = 30
    #: Messages sent to the outlet with a request made with ``history: true``.
    history_messages: int = 20


@dataclass(frozen=True)
class Config:
    """Everything a :class:`~noderuntime.runtime.Runtime` needs to know."""

    mode: str = "isolated"
    workers: int = field(default_factory=lambda: max(os.cpu_count() or 2, 1))
    recycle_after: int = 1000
    seccomp: bool = True
    limits: Limits = field(default_factory=Limits)
    #: Hosts (``"name"`` or ``"name:port"``) that ``this.fetch`` may reach even
    #: though they resolve to a private or loopback address.
    fetch_allow_hosts: tuple[str, ...] = ()
    #: A MongoDB connection string; without one the store is embedded (mongomock).
    mongo_uri: str | None = None
    #: The database the runtime uses on that server.
    mongo_database: str = "noderuntime"
    #: Redirects one node chain may follow (a longer chain stops with an error).
    max_redirects: int = 10
    agenda: AgendaSettings = field(default_factory=AgendaSettings)
    livechat: LiveChatSettings = field(default_factory=LiveChatSettings)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")

    def with_limits(self, **changes: int) -> Config:
        """A copy with some limits changed."""
        return replace(self, limits=replace(self.limits, **changes))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Build from plain data; unknown keys are an error naming the key."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config key(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        nested = (
            ("limits", Limits, "limit"),
            ("agenda", AgendaSettings, "agenda setting"),
            ("livechat", LiveChatSettings, "live chat setting"),
        )
        for key, kind, what in nested:
            if key in values:
                names = {f.name for f in fields(kind)}
                bad = set(values[key]) - names
                if bad:
                    raise ValueError(f"unknown {what}(s): {', '.join(sorted(bad))}")
                values[key] = kind(**values[key])
        if "fetch_allow_hosts" in values:
            values["fetch_allow_hosts"] = tuple(values["fetch_allow_hosts"])
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> Config:
        """Read a JSON config file."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    @classmethod
    def from_env(cls, base: Config | None = None, environ: dict[str, str] | None = None) -> Config:
        """Apply ``NODERUNTIME_MODE``, ``NODERUNTIME_WORKERS``,
        ``NODERUNTIME_FETCH_ALLOW_HOSTS`` (comma-separated),
        ``NODERUNTIME_MONGO_URI`` and ``NODERUNTIME_MONGO_DB`` over ``base``."""
        env = os.environ if environ is None else environ
        config = base or cls()
        if "NODERUNTIME_MODE" in env:
            config = replace(config, mode=env["NODERUNTIME_MODE"])
        if "NODERUNTIME_WORKERS" in env:
            config = replace(config, workers=int(env["NODERUNTIME_WORKERS"]))
        if env.get("NODERUNTIME_FETCH_ALLOW_HOSTS"):
            hosts = tuple(h.strip() for h in env["NODERUNTIME_FETCH_ALLOW_HOSTS"].split(",") if h.strip())
            config = replace(config, fetch_allow_hosts=hosts)
        if env.get("NODERUNTIME_MONGO_URI"):
            config = replace(config, mongo_uri=env["NODERUNTIME_MONGO_URI"])
        if env.get("NODERUNTIME_MONGO_DB"):
            config = replace(config, mongo_database=env["NODERUNTIME_MONGO_DB"])
        return config
