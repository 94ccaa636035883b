"""`ManualClock`: time that moves only when told, shared by the emulator and the code under test.

Pass the same clock to the emulator (``AirbyteEmulator(clock=clock)``) and to the plugin or
client (``clock=clock, sleep=clock.sleep``): every ``sleep`` then advances time for both, so a
six-hour sync with ten-second polls runs in milliseconds, token lifetimes expire on schedule,
and the number of polls is exactly what it would be in real time.
"""

from __future__ import annotations

import threading

__all__ = ["ManualClock"]


class ManualClock:
    """Epoch seconds that advance only through :meth:`advance` or :meth:`sleep`.

    Usable wherever a ``clock`` callable (``time.time`` / ``time.monotonic`` style) and a
    ``sleep`` callable are expected. ``sleeps`` records every sleep, in order.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def now(self) -> float:
        return self()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (>= 0)."""
        if seconds < 0:
            raise ValueError("time does not go backwards")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """What code under test calls instead of ``time.sleep``: advances time at once."""
        self.sleeps.append(float(seconds))
        self.advance(max(0.0, float(seconds)))

    def __repr__(self) -> str:
        return f"ManualClock({self():.3f})"
