"""MCTS-Explore, UCB, EXP3, random and round-robin selectors against hand-computed scores and rewards."""

from __future__ import annotations

import math
import random

import pytest

from distillscope.errors import ConfigError
from distillscope.ice.selectors import (
    EXP3Selector,
    MCTSExploreSelector,
    RandomSelector,
    RoundRobinSelector,
    TemplateNode,
    TemplateTree,
    UCBSelector,
    make_selector,
)


class FixedRng(random.Random):
    """random() returns the given values in turn (to force or forbid the early stop)."""

    def __init__(self, values: list[float]) -> None:
        super().__init__(0)
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


def small_tree() -> TemplateTree:
    """Seeds A (R=.5, v=2) and B (R=0, v=3); A has child C (level 1, R=.3, v=1) in the pool."""
    tree = TemplateTree()
    tree.add(TemplateNode(index=0, template_id="A", text="a {query}", visits=2, reward=0.5))
    tree.add(TemplateNode(index=0, template_id="B", text="b {query}", visits=3, reward=0.0))
    tree.add(
        TemplateNode(
            index=0, template_id="C", text="c {query}", parent=0, level=1, operator="shorten", visits=1, reward=0.3
        )
    )
    return tree


def test_mcts_scores_match_hand_computation_and_descend_to_child() -> None:
    tree, sel = small_tree(), MCTSExploreSelector()
    sel.step = 3  # select() makes it 4
    path = sel.select(tree, FixedRng([0.5]))  # 0.5 >= alpha 0.1: no early stop
    # step 4: score(A) = .5/3 + .5*sqrt(2 ln 4 / 2.01) = 0.16667 + 0.58724 = 0.75391
    #         score(B) = 0/4  + .5*sqrt(2 ln 4 / 3.01) = 0.47988  -> A wins among the seeds
    assert sel.score(tree.nodes[1]) == pytest.approx(0.5 * math.sqrt(2 * math.log(4) / 3.01))
    assert path == [0, 2]
    assert [n.visits for n in tree.nodes] == [3, 3, 2]
    # after the visit: score(A) = .5/4 + .5*sqrt(2 ln 4 / 3.01) = 0.125 + 0.47988
    assert sel.score(tree.nodes[0]) == pytest.approx(0.125 + 0.5 * math.sqrt(2 * math.log(4) / 3.01))


def test_mcts_reward_is_level_penalised_on_every_path_node() -> None:
    tree, sel = small_tree(), MCTSExploreSelector()
    sel.step = 3
    path = sel.select(tree, FixedRng([0.5]))
    sel.update(tree, path, 0.4)
    # selected C has level 1: factor max(0.2, 1 - 0.1*1) = 0.9, so each path node gains 0.36
    assert tree.nodes[0].reward == pytest.approx(0.5 + 0.36)
    assert tree.nodes[2].reward == pytest.approx(0.3 + 0.36)
    assert tree.nodes[1].reward == 0.0


def test_mcts_beta_floor_for_deep_nodes() -> None:
    tree, sel = TemplateTree(), MCTSExploreSelector()
    tree.add(TemplateNode(index=0, template_id="root", text="r {query}"))
    tree.add(TemplateNode(index=0, template_id="deep", text="d {query}", parent=0, level=9))
    sel.update(tree, [0, 1], 1.0)
    assert tree.nodes[0].reward == pytest.approx(0.2)  # max(beta=0.2, 1 - 0.9 = 0.1)


def test_mcts_alpha_stops_at_internal_node() -> None:
    tree, sel = small_tree(), MCTSExploreSelector()
    sel.step = 3
    assert sel.select(tree, FixedRng([0.05])) == [0]  # 0.05 < alpha: stop at A
    assert tree.nodes[2].visits == 1


def test_mcts_first_step_ties_go_to_first_seed_then_unvisited_seeds() -> None:
    tree, sel = TemplateTree(), MCTSExploreSelector()
    for name in "XYZ":
        tree.add(TemplateNode(index=0, template_id=name, text=f"{name} {{query}}"))
    rng = random.Random(1)
    # step 1: ln(1) = 0, all scores 0 -> X; then unvisited seeds have explore term /0.01 -> Y, then Z
    assert [sel.select(tree, rng)[-1] for _ in range(3)] == [0, 1, 2]


def test_mcts_seeded_runs_are_identical_and_state_restores() -> None:
    def run(seed: int) -> list[list[int]]:
        tree = small_tree()
        tree.add(TemplateNode(index=0, template_id="D", text="d {query}", parent=2, level=2, reward=1.0))
        sel, rng = MCTSExploreSelector(), random.Random(seed)
        out = []
        for i in range(8):
            path = sel.select(tree, rng)
            sel.update(tree, path, (i % 3) / 3)
            out.append(path)
        return out

    assert run(7) == run(7)
    sel = MCTSExploreSelector()
    sel.load_state({"step": 5})
    assert sel.state() == {"step": 5}


def test_ucb_hand_computed() -> None:
    tree, sel = small_tree(), UCBSelector()
    sel.step = 1  # -> 2
    # scores: A .5/3 + sqrt(2 ln2/3)=0.8465, B 0 + sqrt(2 ln2/4)=0.5887, C .3/2 + sqrt(2 ln2/2)=0.9826
    assert sel.select(tree, random.Random(0)) == [2]
    sel.update(tree, [2], 0.5)
    assert tree.nodes[2].reward == pytest.approx(0.8) and tree.nodes[2].visits == 2


def test_round_robin_cycles_and_random_is_seeded() -> None:
    tree, rr = small_tree(), RoundRobinSelector()
    assert [rr.select(tree, random.Random(0))[0] for _ in range(4)] == [0, 1, 2, 0]
    a = [RandomSelector().select(small_tree(), random.Random(3))[0] for _ in range(1)]
    b = [RandomSelector().select(small_tree(), random.Random(3))[0] for _ in range(1)]
    assert a == b


def test_make_selector_names_and_unknown() -> None:
    assert [make_selector(n).name for n in ("mcts", "random", "round-robin", "ucb", "exp3")] == [
        "mcts",
        "random",
        "round-robin",
        "ucb",
        "exp3",
    ]
    with pytest.raises(ConfigError, match="unknown selector"):
        make_selector("greedy")


def test_unpooled_mutants_are_not_children_and_tree_roundtrips() -> None:
    tree = small_tree()
    tree.add(TemplateNode(index=0, template_id="E", text="e {query}", parent=1, level=1, in_pool=False))
    assert tree.nodes[1].children == []
    assert TemplateTree.from_dict(tree.to_dict()) == tree


def test_exp3_probabilities_and_update_hand_computed() -> None:
    tree, sel = small_tree(), EXP3Selector(gamma=0.05, alpha=25.0)
    assert sel.probabilities(tree) == pytest.approx({0: 1 / 3, 1: 1 / 3, 2: 1 / 3})  # equal weights
    chosen = sel.select(tree, random.Random(0))[0]
    sel.update(tree, [chosen], 0.4)
    # log w += alpha * gamma * (r / p) / K = 25 * .05 * (.4 / (1/3)) / 3 = 0.5
    assert sel.log_weights[chosen] == pytest.approx(0.5)
    e = math.exp(0.5)
    p_chosen = 0.95 * e / (e + 2) + 0.05 / 3
    assert sel.probabilities(tree)[chosen] == pytest.approx(p_chosen)
    assert tree.nodes[chosen].reward == pytest.approx(0.4 + (0.5, 0.0, 0.3)[chosen])


def test_exp3_new_mutant_gets_the_mean_weight_and_state_restores() -> None:
    tree, sel = small_tree(), EXP3Selector()
    sel.log_weights = {0: 1.0, 1: 0.0, 2: 2.0}
    tree.add(TemplateNode(index=0, template_id="D", text="d {query}", parent=1, level=1))
    probs = sel.probabilities(tree)
    assert sel.log_weights[3] == pytest.approx(1.0) and sum(probs.values()) == pytest.approx(1.0)
    picked = sel.select(tree, random.Random(7))
    again = EXP3Selector()
    again.load_state(sel.state())
    assert again.log_weights == sel.log_weights and again.last == sel.last
    assert [EXP3Selector().select(small_tree(), random.Random(5)) for _ in range(2)] == [
        EXP3Selector().select(small_tree(), random.Random(5)) for _ in range(2)
    ] and picked
