"""Typed errors. Every user-facing error says what went wrong and how to fix it, in one line."""

from __future__ import annotations


class DistillscopeError(Exception):
    """Base class of every error distillscope raises on purpose."""


class ConfigError(DistillscopeError):
    """A model spec, config file, CLI option or input file is invalid."""


class MissingDependencyError(DistillscopeError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed: pip install 'distillscope[{extra}]'")
        self.package = package
        self.extra = extra


class BackendError(DistillscopeError):
    """A backend call failed. `retryable` tells the Model facade whether to try again."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        kind: str = "backend",
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.kind = kind


class BudgetExceededError(DistillscopeError):
    """A configured budget (calls, tokens or USD) would be exceeded by the next call."""
