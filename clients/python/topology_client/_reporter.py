"""Sending reported calls: :class:`ActivityReporter` takes the aggregator's batches and sends each
as one ReportActivity call, either waiting for the answers (:meth:`ActivityReporter.flush`, for
``TopologyClient.flush``) or leaving them to the reader thread
(:meth:`ActivityReporter.flush_in_background`, for the heartbeat thread)."""

from __future__ import annotations

import logging
import time
from typing import Callable, List, Optional, Sequence, Tuple

from ._transport import Call, MuxConnection
from .activity import ActivityAggregator, Batch
from .errors import ServerStatusError, StatusCode, TopologyError, shorten
from .messages import Frame, Status
from .state import ClientStats

__all__ = ["ActivityReporter"]

log = logging.getLogger("topology_client")


class ActivityReporter:
    """Sends what ``activity`` aggregated and counts the outcome in ``stats``. ``era`` is the
    aggregator's era of the current registration (:meth:`new_era` at every registration), sent with
    each report."""

    def __init__(self, activity: ActivityAggregator, stats: ClientStats) -> None:
        self.activity = activity
        self.stats = stats
        self.era = 0

    def new_era(self) -> None:
        self.era = self.activity.new_era()

    def flush(self, mux: MuxConnection, service_id: str, timeout: float) -> int:
        """Sends the pending activity and waits up to ``timeout`` for the server's answers. Returns
        the number of events it accepted; raises the first :class:`ServerStatusError` after reading
        all the answers."""
        batches = self.activity.take()
        if not batches:
            return 0
        sent = self._send_batches(mux, service_id, batches, background=False)
        deadline = time.monotonic() + timeout
        accepted = 0
        refused: Optional[ServerStatusError] = None
        try:
            for call, batch in sent:
                reply = call.recv(max(0.0, deadline - time.monotonic()))
                if reply.status is not None and reply.status.code != StatusCode.OK:
                    error = self._refused(batch, reply.status)
                    refused = refused or error
                elif reply.report_activity_response is not None:
                    accepted += reply.report_activity_response.accepted_events
        finally:
            for call, _ in sent:
                call.close()
        self.stats.activity_events_accepted += accepted
        if refused is not None:
            raise refused
        return accepted

    def flush_in_background(self, mux: MuxConnection, service_id: str) -> None:
        batches = self.activity.take()
        if not batches:
            return
        try:
            self._send_batches(mux, service_id, batches, background=True)
        except TopologyError as error:
            # What was not sent is back in the aggregator, for the next flush after recovery.
            self.stats.last_error = str(error)

    def _send_batches(self, mux: MuxConnection, service_id: str, batches: Sequence[Batch], *,
                      background: bool) -> List[Tuple[Call, Batch]]:
        """Sends each batch as one report on a ReportActivity call of its own (request and
        end_of_stream in one frame), so each answer names the calls it stands for. When a send
        fails, that batch and the ones after it (never sent) go back to the aggregator, as the C
        client does, and the error is raised. ``background``: answers are handled on the reader
        thread (a refusal is counted) instead of being returned for :meth:`flush` to read."""
        sent: List[Tuple[Call, Batch]] = []
        era = self.era
        for index, batch in enumerate(batches):
            try:
                call = mux.open_call(self._on_report_answer(batch) if background else None)
            except TopologyError:
                self.activity.put_back(batches[index:])
                raise
            try:
                call.send(Frame(report_activity_request=batch.report(service_id, era), end_of_stream=True))
            except TopologyError:
                call.close()
                self.activity.put_back(batches[index:])
                raise
            self.stats.activity_reports_sent += 1
            sent.append((call, batch))
        return sent

    def _on_report_answer(self, batch: Batch) -> Callable[[Frame], None]:
        def on_answer(frame: Frame) -> None:
            if frame.status is not None and frame.status.code != StatusCode.OK:
                self._refused(batch, frame.status)
            elif frame.report_activity_response is not None:
                self.stats.activity_events_accepted += frame.report_activity_response.accepted_events
        return on_answer

    def _refused(self, batch: Batch, status: Status) -> ServerStatusError:
        """The server refused a report: its calls are lost (sending them again would be refused the
        same way). Counted as dropped; the status becomes the last error."""
        error = ServerStatusError(status.code, status.message)
        self.activity.note_dropped(batch.calls)
        self.stats.last_error = f"activity to {shorten(batch.target)} refused: {error}"
        log.warning("%s", self.stats.last_error)
        return error
