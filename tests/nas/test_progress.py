"""Structured progress lines on stderr: text and JSON lines."""
import io
import json

from nas.run.progress import Progress


def test_json_progress_lines():
    stream = io.StringIO()
    progress = Progress(10, stream=stream, fmt="json")
    progress.line("starting")
    progress.trial(done=1, running=2, failed=0, summary="trial 0 accuracy=91", best="91",
                   front=1, hv=None, infeasible=1)
    progress.trial(done=2, running=1, failed=1, summary="trial 1 failed", best="91",
                   front=1, hv=3.5, seconds=2.0)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["message", "trial", "trial"]
    assert events[1]["running"] == 2 and events[1]["infeasible"] == 1 and events[1]["hv"] is None
    assert events[1]["eta_s"] is None  # no trial duration known yet: no guess
    assert events[2]["done"] == 2 and events[2]["hv"] == 3.5 and events[2]["eta_s"] == 16.0


def test_text_progress_and_quiet():
    stream = io.StringIO()
    Progress(5, stream=stream).trial(done=3, running=1, failed=1, summary="trial 2 x=1",
                                     best="x=1", front=2, hv=0.5, infeasible=2)
    line = stream.getvalue()
    assert line.startswith("[3/5] trial 2 x=1 | running 1 failed 1 infeasible 2 | best x=1")
    assert "front 2 HV 0.5" in line and "ETA" in line
    quiet = io.StringIO()
    Progress(5, stream=quiet, quiet=True).trial(1, 0, 0, "t", "-", 0, None)
    assert quiet.getvalue() == ""
