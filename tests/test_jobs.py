"""The one index job manager: background updates with progress, one at a time."""

from __future__ import annotations

import threading

import pytest

from assistant import Assistant
from assistant.errors import AssistantError
from assistant.indexing import Progress
from assistant.jobs import IndexBusyError
from assistant.uploads import UploadReport


def test_an_index_job_reports_progress_refuses_a_second_and_keeps_its_report(
    fake_bot: Assistant,
) -> None:
    steps: list[Progress] = []
    release = threading.Event()

    def hold(step: Progress) -> None:
        steps.append(step)
        release.wait(10)  # the job stays running until the test has tried a second one

    job = fake_bot.start_index_job(progress=hold)
    with pytest.raises(IndexBusyError, match="already running"):
        fake_bot.start_index_job()
    release.set()
    report = job.result(timeout=60)
    assert report.documents == 4 and fake_bot.job(job.id) is job
    assert job.to_dict()["status"] == "done" and job.to_dict()["files_total"] == 4
    assert steps[-1].files_done == steps[-1].files_total == 4
    assert fake_bot.start_index_job().result(timeout=60).unchanged  # the next one may start


def test_a_failed_job_says_why_and_raises_for_a_caller_that_waits(fake_bot: Assistant) -> None:
    fake_bot.settings.corpus.path = fake_bot.settings.corpus.path / "missing"
    job = fake_bot.start_index_job()
    with pytest.raises(AssistantError) as caught:
        job.result(timeout=60)
    assert job.status == "failed" and job.error == str(caught.value)
    assert fake_bot.job("nope") is None


def test_an_upload_waits_for_a_running_update_instead_of_failing(fake_bot: Assistant) -> None:
    release = threading.Event()
    first = fake_bot.start_index_job(progress=lambda step: release.wait(10))
    fake_bot.settings.web.max_upload_mb = 1
    note = fake_bot.settings.corpus.path.parent / "tin-note.md"
    note.write_text("# Tin\n\nChina's tin exports fell in 2024, a note says.\n")
    added: list[UploadReport] = []
    upload = threading.Thread(target=lambda: added.append(fake_bot.add_uploads([str(note)])))
    upload.start()
    upload.join(0.5)
    assert upload.is_alive() and first.status == "running"  # it waits, it is not refused
    release.set()
    upload.join(60)
    assert added[0].error == "" and added[0].saved == ["uploads/tin-note.md"]
    assert any(h.chunk.source == "uploads/tin-note.md" for h in fake_bot.search("tin").hits)
