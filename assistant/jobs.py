"""Index updates in the background, one at a time, with their progress: the one job manager
that the HTTP API, the web chat and the CLI follow (through ``Assistant.start_index_job``)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from assistant.errors import AssistantError
from assistant.indexing import IndexReport, Progress, ProgressFn

log = logging.getLogger(__name__)

KEPT_JOBS = 20
JobStatus = Literal["running", "done", "failed"]
Work = Callable[[ProgressFn], IndexReport]


class IndexBusyError(AssistantError):
    def __init__(self) -> None:
        super().__init__("An index update is already running; wait for it.")


@dataclass
class IndexJob:
    id: str
    started_at: datetime
    status: JobStatus = "running"
    progress: Progress | None = None
    report: IndexReport | None = None
    error: str | None = None  # for the reader: an unexpected failure says only where to look
    finished_at: datetime | None = None
    exception: BaseException | None = field(default=None, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def run(self, work: Work, listener: ProgressFn | None) -> None:
        def on_progress(step: Progress) -> None:
            self.progress = step
            if listener is not None:
                listener(step)

        status: JobStatus = "failed"
        try:
            self.report = work(on_progress)
            status = "done"
        except AssistantError as exc:
            self.error, self.exception = str(exc), exc
        except Exception as exc:
            log.exception("index job %s failed", self.id)
            self.error, self.exception = "The update failed; the server log has the details.", exc
        self.finished_at = datetime.now(UTC)
        self.status = status  # last: once it changes, readers find the other fields set
        self._done.set()

    def result(self, timeout: float | None = None) -> IndexReport:
        """The report once the job is done; the job's own error if it failed."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"index job {self.id} is still running")
        if self.exception is not None:
            raise self.exception
        assert self.report is not None
        return self.report

    def to_dict(self) -> dict[str, Any]:
        step = self.progress or Progress(0, 0, 0, "")
        return {
            "id": self.id,
            "status": self.status,
            "files_done": step.files_done,
            "files_total": step.files_total,
            "chunks_done": step.chunks_done,
            "current": step.path,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "report": self.report.to_dict() if self.report else None,
            "error": self.error,
        }


class IndexJobs:
    """The index updates of one assistant: one runs at a time; the last few are kept."""

    def __init__(self, kept: int = KEPT_JOBS) -> None:
        self.kept = kept
        self._jobs: dict[str, IndexJob] = {}
        self._lock = threading.Lock()

    def start(self, work: Work, listener: ProgressFn | None = None, wait: bool = False) -> IndexJob:
        """A new job running ``work``; while another runs, IndexBusyError, or with ``wait``,
        the new one starts once it is done."""
        while True:
            with self._lock:
                running = next((j for j in self._jobs.values() if j.status == "running"), None)
                if running is None:
                    job = self._add()
                    break
                if not wait:
                    raise IndexBusyError()
            running._done.wait()
        name = f"index-{job.id[:8]}"
        threading.Thread(target=job.run, args=(work, listener), name=name, daemon=True).start()
        return job

    def _add(self) -> IndexJob:
        job = IndexJob(uuid.uuid4().hex, datetime.now(UTC))
        self._jobs[job.id] = job
        for old in list(self._jobs)[: -self.kept]:
            del self._jobs[old]
        return job

    def get(self, job_id: str) -> IndexJob | None:
        return self._jobs.get(job_id)
