"""The single business-logic thread (LMAX style).

QuickFIX callbacks put commands on its queue; it applies them to the order manager one at a
time, in arrival order, and after each batch hands what changed to the journal writer, whose
release callback sends the messages once the batch is committed.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable
from datetime import datetime

import structlog

from qtinfra.domain.commands import Command
from qtinfra.domain.events import Event
from qtinfra.oms.manager import OrderManager
from qtinfra.store.journal import JournalWriter, batch_from_outbox

log = structlog.get_logger(__name__)

_STOP = object()


class Sequencer:
    """Owns the OrderManager; nothing else touches it while the thread runs."""

    def __init__(
        self,
        manager: OrderManager,
        writer: JournalWriter,
        dispatch: Callable[[list[Event]], None],
        clock: Callable[[], datetime],
        on_error: Callable[[object, BaseException], None],
        batch_max: int = 2000,
    ) -> None:
        self.manager = manager
        self.writer = writer
        self.dispatch = dispatch
        self.clock = clock
        self.on_error = on_error
        self.batch_max = batch_max
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sequencer", daemon=True)
        self.processed = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, command: Command) -> None:
        """Any thread: queue a command for the sequencer."""
        self._queue.put(command)

    def call(self, fn: Callable[[OrderManager], None]) -> None:
        """Run fn on the sequencer thread, between commands (for operator actions)."""
        self._queue.put(fn)

    def stop(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        manager = self.manager
        get, get_nowait = self._queue.get, self._queue.get_nowait
        while True:
            item = get()
            stop = False
            count = 0
            while True:
                if item is _STOP:
                    stop = True
                    break
                try:
                    if callable(item):
                        item(manager)
                    else:
                        manager.handle(item)  # type: ignore[arg-type]
                except Exception as exc:
                    # The command is answered by the caller's error path; the state the
                    # manager had before it stays (each handler validates before mutating).
                    log.exception("command_failed", command=repr(item))
                    self.on_error(item, exc)
                count += 1
                if count >= self.batch_max:
                    break
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            self.processed += count
            outbox = manager.take_outbox()
            if outbox:
                release = None
                if outbox.events:
                    release = functools.partial(self.dispatch, outbox.events)
                self.writer.submit(batch_from_outbox(outbox, self.clock(), release))
            if stop:
                return
