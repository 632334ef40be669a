"""When feeds are refreshed: due feeds now, then sleep until the next one is due, until told to stop.

`newsrag watch` runs `Scheduler.watch` in the foreground (SIGTERM and Ctrl-C set the stop event; the feed
being refreshed finishes, so the index is left whole); the app runs it in a background thread. The clock and
the wait are parameters, so that tests drive the schedule with a fake clock instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ingest.feeds import FeedRefresher, FeedReport
from ingest.feedstate import FeedState

log = logging.getLogger(__name__)

__all__ = ["BackgroundRefresh", "Scheduler"]

MAX_SLEEP_S = 60.0  # look again at least this often (feeds added by another process, a changed clock)


class Scheduler:
    def __init__(self, refresher: FeedRefresher, state: FeedState, clock: Callable[[], float] | None = None):
        self.refresher = refresher
        self.state = state
        self.clock = clock or refresher.clock

    def run_due(self, stop: threading.Event | None = None) -> list[FeedReport]:
        """Refresh every feed that is due now; one failing feed never stops the others."""
        return self.refresher.refresh_many(self.state.due(self.clock()), stop)

    def seconds_to_next(self) -> float:
        """How long to wait before the next feed is due (at most MAX_SLEEP_S; 0 when one is due)."""
        due = self.state.next_due()
        if due is None:
            return MAX_SLEEP_S
        return min(max(due - self.clock(), 0.0), MAX_SLEEP_S)

    def watch(
        self,
        stop: threading.Event,
        on_report: Callable[[FeedReport], None] | None = None,
        wait: Callable[[float], object] | None = None,
    ) -> int:
        """Refresh due feeds until `stop` is set; returns how many refreshes ran. `wait(seconds)` sleeps
        (default: waiting on `stop`, so that a stop request wakes it at once)."""
        wait = wait or stop.wait
        runs = 0
        while not stop.is_set():
            for report in self.run_due(stop):
                runs += 1
                if on_report is not None:
                    on_report(report)
            if stop.is_set():
                break
            wait(max(self.seconds_to_next(), 0.5))
        return runs


class BackgroundRefresh:
    """The app's refresher: a daemon thread running `Scheduler.watch` until `stop()`."""

    def __init__(self, scheduler: Scheduler):
        self.scheduler = scheduler
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_reports: list[FeedReport] = []

    def start(self) -> BackgroundRefresh:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="feed-refresh", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.scheduler.watch(self._stop, on_report=self._keep)
        except Exception:  # the app keeps serving without background refreshes; the log says why
            log.exception("background feed refresh stopped")

    def _keep(self, report: FeedReport) -> None:
        self.last_reports = [*self.last_reports[-49:], report]

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
