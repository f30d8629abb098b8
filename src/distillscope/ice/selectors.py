"""The template tree and the seed selectors: MCTS-Explore (GPTFuzz's default), UCB, EXP3, random, round-robin.

Every selector draws its random numbers from the `random.Random` passed in, keeps its visit counts and
rewards on the tree nodes, and exposes its own small state (`state()` / `load_state()`) so a campaign
checkpoint restores it exactly.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from distillscope.errors import ConfigError


@dataclass(kw_only=True)
class TemplateNode:
    """A template in the fuzzing tree. Seeds have level 0 and no parent; `reward` is the selector's R."""

    index: int
    template_id: str
    text: str
    parent: int | None = None
    level: int = 0
    operator: str = "seed"
    children: list[int] = field(default_factory=list)
    visits: int = 0
    reward: float = 0.0
    queries: int = 0
    successes: int = 0
    mentions_vendor: bool = False
    in_pool: bool = True
    iteration: int | None = None

    @property
    def success_rate(self) -> float | None:
        """Successes per target query, or None before the template was evaluated."""
        return self.successes / self.queries if self.queries else None


@dataclass
class TemplateTree:
    """All templates of a campaign: the seeds (roots) and the evaluated mutants, indexed by position."""

    nodes: list[TemplateNode] = field(default_factory=list)

    def add(self, node: TemplateNode) -> TemplateNode:
        """Append a node (its index is set here) and link it under its parent when it enters the pool."""
        node.index = len(self.nodes)
        self.nodes.append(node)
        if node.parent is not None and node.in_pool:
            self.nodes[node.parent].children.append(node.index)
        return node

    @property
    def roots(self) -> list[TemplateNode]:
        return [n for n in self.nodes if n.parent is None]

    @property
    def pool(self) -> list[TemplateNode]:
        return [n for n in self.nodes if n.in_pool]

    def children_of(self, node: TemplateNode) -> list[TemplateNode]:
        return [self.nodes[i] for i in node.children]

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": [asdict(n) for n in self.nodes]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> TemplateTree:
        return TemplateTree([TemplateNode(**n) for n in d.get("nodes", [])])


class Selector(Protocol):
    """Chooses the next seed to mutate and learns from the reward of its mutants."""

    name: str

    def select(self, tree: TemplateTree, rng: random.Random) -> list[int]:
        """The selection path (node indices); the last one is the node to mutate."""
        ...

    def update(self, tree: TemplateTree, path: list[int], reward: float) -> None:
        """Credit `reward` (the success fraction of the mutants) to the path."""
        ...

    def state(self) -> dict[str, Any]: ...

    def load_state(self, state: dict[str, Any]) -> None: ...


class MCTSExploreSelector:
    """GPTFuzz MCTS-Explore: UCT descent from the best seed, early stop with prob `alpha`, level-penalised reward.

    score(n) = R_n / (v_n + 1) + ratio * sqrt(2 ln t / (v_n + 0.01)); ties go to the first node.
    update: R_n += r * max(beta, 1 - penalty * level(selected)) for every n on the path.
    """

    name = "mcts"

    def __init__(self, ratio: float = 0.5, alpha: float = 0.1, beta: float = 0.2, penalty: float = 0.1) -> None:
        self.ratio, self.alpha, self.beta, self.penalty = ratio, alpha, beta, penalty
        self.step = 0

    def score(self, node: TemplateNode) -> float:
        """The UCT score of a node at the current step."""
        explore = math.sqrt(2 * math.log(self.step) / (node.visits + 0.01)) if self.step > 0 else 0.0
        return node.reward / (node.visits + 1) + self.ratio * explore

    def select(self, tree: TemplateTree, rng: random.Random) -> list[int]:
        roots = tree.roots
        if not roots:
            raise ConfigError("the template pool is empty; give at least one seed template")
        self.step += 1
        cur = max(roots, key=self.score)
        path = [cur.index]
        while cur.children:
            if rng.random() < self.alpha:
                break
            cur = max(tree.children_of(cur), key=self.score)
            path.append(cur.index)
        for i in path:
            tree.nodes[i].visits += 1
        return path

    def update(self, tree: TemplateTree, path: list[int], reward: float) -> None:
        level = tree.nodes[path[-1]].level
        for i in path:
            tree.nodes[i].reward += reward * max(self.beta, 1 - self.penalty * level)

    def state(self) -> dict[str, Any]:
        return {"step": self.step}

    def load_state(self, state: dict[str, Any]) -> None:
        self.step = int(state.get("step", 0))


class UCBSelector:
    """Flat UCB1 over the whole pool: R/(v+1) + c*sqrt(2 ln t/(v+1)); the reward goes to the chosen node."""

    name = "ucb"

    def __init__(self, explore_coeff: float = 1.0) -> None:
        self.explore_coeff = explore_coeff
        self.step = 0

    def select(self, tree: TemplateTree, rng: random.Random) -> list[int]:
        self.step += 1
        pool = _pool(tree)

        def score(n: TemplateNode) -> float:
            smooth = n.visits + 1
            return n.reward / smooth + self.explore_coeff * math.sqrt(2 * math.log(self.step) / smooth)

        best = max(pool, key=score)
        best.visits += 1
        return [best.index]

    def update(self, tree: TemplateTree, path: list[int], reward: float) -> None:
        tree.nodes[path[-1]].reward += reward

    def state(self) -> dict[str, Any]:
        return {"step": self.step}

    def load_state(self, state: dict[str, Any]) -> None:
        self.step = int(state.get("step", 0))


class RandomSelector:
    """A uniformly random pool member."""

    name = "random"

    def select(self, tree: TemplateTree, rng: random.Random) -> list[int]:
        node = rng.choice(_pool(tree))
        node.visits += 1
        return [node.index]

    def update(self, tree: TemplateTree, path: list[int], reward: float) -> None:
        tree.nodes[path[-1]].reward += reward

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        return None


class RoundRobinSelector:
    """Pool members in order, cycling; new mutants join the cycle as they enter the pool."""

    name = "round-robin"

    def __init__(self) -> None:
        self.cursor = 0

    def select(self, tree: TemplateTree, rng: random.Random) -> list[int]:
        pool = _pool(tree)
        node = pool[self.cursor % len(pool)]
        self.cursor += 1
        node.visits += 1
        return [node.index]

    def update(self, tree: TemplateTree, path: list[int], reward: float) -> None:
        tree.nodes[path[-1]].reward += reward

    def state(self) -> dict[str, Any]:
        return {"cursor": self.cursor}

    def load_state(self, state: dict[str, Any]) -> None:
        self.cursor = int(state.get("cursor", 0))


class EXP3Selector:
    """EXP3 over the pool (an adversarial bandit; GPTFuzz's baseline uses gamma 0.05 and alpha 25).

    p_i = (1 - gamma) * w_i / sum(w) + gamma / K over the K pool members; the chosen node's weight grows by
    exp(alpha * gamma * (r / p_i) / K) (importance-weighted reward; alpha scales the small success fractions).
    Weights are kept as logarithms; a mutant entering the pool starts at the mean log-weight (a neutral prior).
    """

    name = "exp3"

    def __init__(self, gamma: float = 0.05, alpha: float = 25.0) -> None:
        if not 0.0 < gamma <= 1.0:
            raise ConfigError("EXP3 gamma must lie in (0, 1]")
        self.gamma, self.alpha = gamma, alpha
        self.log_weights: dict[int, float] = {}
        self.last: tuple[int, float, int] | None = None  # (node, its probability, pool size) of the last choice

    def probabilities(self, tree: TemplateTree) -> dict[int, float]:
        """Selection probability of every pool member (new members get the mean log-weight first)."""
        pool = _pool(tree)
        prior = sum(self.log_weights.values()) / len(self.log_weights) if self.log_weights else 0.0
        for n in pool:
            self.log_weights.setdefault(n.index, prior)
        top = max(self.log_weights[n.index] for n in pool)
        w = {n.index: math.exp(self.log_weights[n.index] - top) for n in pool}
        total, k = sum(w.values()), len(pool)
        return {i: (1 - self.gamma) * wi / total + self.gamma / k for i, wi in w.items()}

    def select(self, tree: TemplateTree, rng: random.Random) -> list[int]:
        probs = self.probabilities(tree)
        indices = list(probs)
        chosen = rng.choices(indices, weights=[probs[i] for i in indices])[0]
        self.last = (chosen, probs[chosen], len(indices))
        tree.nodes[chosen].visits += 1
        return [chosen]

    def update(self, tree: TemplateTree, path: list[int], reward: float) -> None:
        node = path[-1]
        tree.nodes[node].reward += reward
        if self.last is None or self.last[0] != node:
            return  # no matching choice (e.g. restored from an older checkpoint): nothing to weigh
        _, p, k = self.last
        self.log_weights[node] += self.alpha * self.gamma * (reward / p) / k
        self.last = None

    def state(self) -> dict[str, Any]:
        return {
            "log_weights": {str(i): w for i, w in self.log_weights.items()},
            "last": list(self.last) if self.last else None,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.log_weights = {int(i): float(w) for i, w in (state.get("log_weights") or {}).items()}
        last = state.get("last")
        self.last = (int(last[0]), float(last[1]), int(last[2])) if last else None


SELECTORS: tuple[str, ...] = ("mcts", "random", "round-robin", "ucb", "exp3")


def make_selector(name: str) -> Selector:
    """A selector by name: mcts (default GPTFuzz parameters), random, round-robin, ucb or exp3."""
    key = name.strip().lower().replace("_", "-")
    if key in ("mcts", "mcts-explore"):
        return MCTSExploreSelector()
    if key == "ucb":
        return UCBSelector()
    if key == "random":
        return RandomSelector()
    if key in ("round-robin", "roundrobin"):
        return RoundRobinSelector()
    if key == "exp3":
        return EXP3Selector()
    raise ConfigError(f"unknown selector {name!r}; use one of: {', '.join(SELECTORS)}")


def _pool(tree: TemplateTree) -> list[TemplateNode]:
    pool = tree.pool
    if not pool:
        raise ConfigError("the template pool is empty; give at least one seed template")
    return pool
