"""A heartbeat file, for a process with no port a liveness probe could ask (the clock)."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

CLOCK_HEARTBEAT = Path(tempfile.gettempdir()) / "scimgate-clock.alive"


class HeartbeatStop(threading.Event):
    """A loop's stop event that also touches a file each time the loop waits for its next turn.

    The clock's loop waits on its stop event once per tick, so the file's age says how long
    ago the loop last came round: a probe finding it old knows the loop is stuck.
    """

    def __init__(self, path: Path = CLOCK_HEARTBEAT) -> None:
        super().__init__()
        self.path = path

    def wait(self, timeout: float | None = None) -> bool:
        self.path.touch()
        return super().wait(timeout)


def heartbeat_age_seconds(path: Path = CLOCK_HEARTBEAT) -> float:
    """Seconds since the loop last came round; infinite if it never did."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")
