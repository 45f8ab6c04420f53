"""Lesson 11 probes against a fake cluster: how Jobs end, pi's log, the CronJob's schedule."""

from __future__ import annotations

from typing import Any

from autograders.lessons import lesson11

from .fakes import context


def job(name: str, *, condition: str | None = None, reason: str = "", succeeded: int = 0,
        failed: int = 0, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"succeeded": succeeded, "failed": failed, "conditions": []}
    if condition:
        status["conditions"].append({"type": condition, "status": "True", "reason": reason})
    return {"metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"backoffLimit": 2}, "status": status}


def job_pod(name: str, job_name: str, phase: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"job-name": job_name}},
            "status": {"phase": phase}}


def test_finished_needs_complete_and_the_count() -> None:
    check = lesson11.finished("batch", succeeded=4)
    done = check.probe(context({("job", "default", "batch"): job(
        "batch", condition="Complete", succeeded=4)}))
    assert done.passed
    short = check.probe(context({("job", "default", "batch"): job(
        "batch", condition="Complete", succeeded=2)}))
    assert not short.passed and short.settled and "after 2 succeeded" in short.found
    running = check.probe(context({("job", "default", "batch"): job("batch", succeeded=3)}))
    assert not running.passed and not running.settled and "still running" in running.found
    missing = check.probe(context({}))
    assert not missing.passed and missing.missing


def test_gave_up_wants_backoff_limit_exceeded() -> None:
    check = lesson11.gave_up("flaky")
    ok = check.probe(context({("job", "default", "flaky"): job(
        "flaky", condition="Failed", reason="BackoffLimitExceeded", failed=3)}))
    assert ok.passed
    deadline = check.probe(context({("job", "default", "flaky"): job(
        "flaky", condition="Failed", reason="DeadlineExceeded")}))
    assert not deadline.passed and "DeadlineExceeded" in deadline.found
    completed = check.probe(context({("job", "default", "flaky"): job(
        "flaky", condition="Complete", succeeded=1)}))
    assert not completed.passed and completed.settled and "must fail" in completed.found


def test_pi_head_reads_the_succeeded_pod_log() -> None:
    objects = {("pod", "default", "pi-x"): job_pod("pi-x", "pi", "Succeeded"),
               ("pod", "default", "other"): job_pod("other", "batch", "Succeeded")}
    ctx = context(objects, logs={"pi-x": "3.14159265358979\n", "other": "processed"})
    assert lesson11.pi_head(ctx) == "3.14159265"
    running = context({("pod", "default", "pi-x"): job_pod("pi-x", "pi", "Running")})
    assert lesson11.pi_head(running) is None


def test_job_logs_quotes_what_the_pods_printed() -> None:
    objects = {("job", "default", "ticker-now"): job("ticker-now"),
               ("pod", "default", "t-1"): job_pod("t-1", "ticker-now", "Succeeded")}
    check = lesson11.job_logs("ticker-now", "tick")
    assert check.probe(context(objects, logs={"t-1": "Sun Dec  6\ntick\n"})).passed
    out = check.probe(context(objects, logs={"t-1": "hello\n"}))
    assert not out.passed and "'hello'" in out.found


def test_every_minute_accepts_both_spellings_only() -> None:
    assert lesson11.every_minute("*/1 * * * *") and lesson11.every_minute("* * * * *")
    assert not lesson11.every_minute("*/5 * * * *")
    assert not lesson11.every_minute("0 * * * *") and not lesson11.every_minute(None)


def test_the_cron_exercise_reads_the_manual_annotation() -> None:
    manual = job("ticker-now", annotations={"cronjob.kubernetes.io/instantiate": "manual"})
    [_, _, from_cron, _, _] = lesson11.cron()
    assert from_cron.probe(context({("job", "default", "ticker-now"): manual})).passed
    plain = from_cron.probe(context({("job", "default", "ticker-now"): job("ticker-now")}))
    assert not plain.passed and "instantiate is nothing" in plain.found


def test_pi_printed_wants_the_tutorials_digits() -> None:
    objects = {("job", "default", "pi"): job("pi", condition="Complete", succeeded=1),
               ("pod", "default", "pi-x"): job_pod("pi-x", "pi", "Succeeded")}
    check = lesson11.pi_printed(digits=20)
    assert check.probe(context(objects, logs={"pi-x": "3.1415926535897932384626\n"})).passed
    echoed = check.probe(context(objects, logs={"pi-x": "3.14159265\n"}))
    assert not echoed.passed and echoed.settled and "9 characters" in echoed.found
    assert not check.probe(context(objects, logs={"pi-x": "2.7182818284590452353602\n"})).passed
