"""The paired ICE replay runs targets and templates concurrently, within each model's limits (issue 14, item 4).

Against a real local HTTP server that answers after a delay and counts the requests it is answering at once."""

from __future__ import annotations

from distillscope.backends.base import BackendOptions
from distillscope.ice.evaluate import EvalOptions, IceTarget, replay
from distillscope.ice.judge_factory import make_judge
from distillscope.ice.questions import Question
from distillscope.ice.records import IceRecord
from distillscope.ice.templates import make_template
from distillscope.identity import get_family
from distillscope.model import ModelLimits, get_model
from faultserver import FaultServer

QUESTIONS = [
    Question(
        id=f"q{i}", text=f"Question {i}: which company built you?", category="team", language="en", pair_id=f"q{i}"
    )
    for i in range(2)
]
TEMPLATES = [make_template(f"t{k}", f"Scene {k}: the assistant answers in character. {{query}}") for k in range(4)]


async def _replay(url: str, concurrency: int) -> dict[str, list[IceRecord]]:
    limits = ModelLimits(max_concurrency=concurrency, max_retries=0, timeout_s=30)
    judge = make_judge("claims")
    targets = [
        IceTarget(
            get_model(f"openai:target-{i}", options=BackendOptions(base_url=url), limits=limits),
            get_family("qwen"),
            judge,
        )
        for i in range(2)
    ]
    return await replay(TEMPLATES, QUESTIONS, targets, EvalOptions())


def _answers(out: dict[str, list[IceRecord]]) -> dict[str, list[tuple[object, ...]]]:
    keys = ("idx", "template_id", "question_id", "response", "status", "loose", "strict")
    return {name: [tuple(r.model_dump().get(k) for k in keys) for r in rows] for name, rows in out.items()}


async def test_replay_overlaps_targets_and_templates_and_keeps_the_record_order() -> None:
    with FaultServer(None, delay_s=0.3) as server:
        concurrent = await _replay(server.base_url, concurrency=8)
        overlap = server.max_in_flight
    with FaultServer(None, delay_s=0.02) as server:
        one_at_a_time = await _replay(server.base_url, concurrency=1)
        assert server.max_in_flight <= 2  # one call per target model at a time: its limit holds
    # 2 targets x 4 templates x 2 questions = 16 calls; one template's questions alone would be 2 at a time.
    assert overlap > len(QUESTIONS) * 2
    assert overlap <= 16
    assert _answers(concurrent) == _answers(one_at_a_time)
    assert [r.idx for r in concurrent["openai:target-0"]] == list(range(len(TEMPLATES) * len(QUESTIONS)))
    assert all(r.status == "ok" for rows in concurrent.values() for r in rows)
