"""Ray itself: a clear error when the extra is missing, the session a run needs, the errors of a lost worker."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from distillscope.config import ExecutionSettings, ExperimentConfig, parse_judge_spec, placement_of
from distillscope.errors import MissingDependencyError

log = logging.getLogger(__name__)


def require_ray() -> ModuleType:
    """The `ray` module, or a MissingDependencyError naming the `ray` extra."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray") from None
    return ray


def worker_lost_errors() -> tuple[type[BaseException], ...]:
    """Ray's errors for an actor that died or a node that went away: the request never finished, so it may be
    retried (on a new actor). A failure *inside* the backend comes back as a value instead (see `ray_host`)."""
    exc = require_ray().exceptions
    return (
        exc.RayActorError,  # ActorDiedError and ActorUnavailableError are subclasses
        exc.WorkerCrashedError,
        exc.NodeDiedError,
        exc.LocalRayletDiedError,
        exc.ObjectLostError,  # OwnerDiedError is a subclass
    )


def ray_models(cfg: ExperimentConfig) -> list[str]:
    """Names (or bare specs) of the run's models whose backend runs in a Ray actor under its executor."""
    helpers = [*cfg.rse.judges, parse_judge_spec(cfg.ice.judge).model, cfg.ice.mutator]
    entries = [*cfg.all_models(), *(cfg.model(h) for h in helpers if h and h != "rules")]
    return sorted({e.name for e in entries if placement_of(e, cfg.execution.executor) == "ray"})


@contextmanager
def ray_session(execution: ExecutionSettings, needed: bool) -> Iterator[None]:
    """Connect to Ray (or start a local one) for the run when the executor is ray and a model is placed there.

    A session that is already connected (a test, a notebook) is used as it is and left running; one started here
    is shut down on the way out, which also ends every actor of the run."""
    if execution.executor != "ray" or not needed:
        yield
        return
    ray = require_ray()
    started = not ray.is_initialized()
    if started:
        where = execution.address or "a new local Ray instance"
        log.info("connecting to %s", where)
        ray.init(address=execution.address, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        if started:
            ray.shutdown()
