"""The stage-health rule that decides whether a run failed."""

from __future__ import annotations

from distillscope.runner import stage_failure


def stats(calls: int, errors: int, cache_hits: int = 0) -> dict[str, float | int]:
    return {"calls": calls, "errors": errors, "cache_hits": cache_hits, "seconds": 1.0}


def test_healthy_and_minority_failures_pass() -> None:
    assert stage_failure("rse.collect", stats(10, 0), []) is None
    assert stage_failure("rse.collect", stats(10, 5), []) is None  # exactly half: not "more than half"
    assert stage_failure("rse.collect", stats(4, 3, cache_hits=6), []) is None  # cache hits are answers


def test_majority_of_failures_or_a_dead_model_fails_the_stage() -> None:
    assert (
        stage_failure("rse.judge", stats(10, 6), []) == "stage rse.judge: 6 of 10 calls failed "
        "(the records' error field says why)"
    )
    message = stage_failure("rse.collect", stats(12, 3), ["null-1"])
    assert message is not None and "no answer at all from null-1" in message


def test_fail_on_errors_makes_any_failure_fatal() -> None:
    assert stage_failure("ice.fuzz", stats(100, 1), [], fail_on_errors=True) is not None
    assert stage_failure("ice.fuzz", stats(100, 0), [], fail_on_errors=True) is None
