"""The live-chat worker: makes the outbox's calls and acts on webhook events
in the background, waking when there is something new."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from noderuntime.livechat.desk import LiveChat

log = logging.getLogger("noderuntime.livechat")


@dataclass
class LiveChatWorker:
    """Runs :meth:`LiveChat.work` until :meth:`stop`: at once after
    :meth:`wake`, when a retry comes due, and every ``poll_ms`` otherwise
    (another process may have queued something)."""

    desk: LiveChat
    _wake: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def wake(self) -> None:
        """Something was queued or received: look now."""
        self._wake.set()

    def run_forever(self) -> None:
        """Work until :meth:`stop`."""
        poll = self.desk.settings.poll_ms
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.desk.work()
                upcoming = self.desk.next_due()
            except Exception:  # a database outage must not end the worker
                log.exception("live-chat worker: cannot work the outbox")
                upcoming = None
            now = self.desk.now_ms()
            wait = poll if upcoming is None else min(max(upcoming - now, 5), poll)
            self._wake.wait(wait / 1000)

    def start(self) -> LiveChatWorker:
        """Work in a background thread."""
        self.desk.on_call_done = self.wake
        self._thread = threading.Thread(target=self.run_forever, name="livechat-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Finish the current call, then stop."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
