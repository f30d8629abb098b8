"""The prompt value type shared by the loaders and the built-in set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillscope.types import Message


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptItem:
    """One prompt: `text` is the user prompt sent; `messages` the whole conversation when multi-turn.

    `turns` keeps every user turn of the source (MT-Bench, ShareGPT) even when only the first is sent.
    """

    id: str
    set: str
    text: str
    category: str | None = None
    turns: tuple[str, ...] = ()
    messages: tuple[Message, ...] = ()

    def request_messages(self) -> tuple[Message, ...]:
        """The messages to send: the stored conversation, or the single user prompt."""
        return self.messages or (Message.user(self.text),)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "set": self.set,
            "text": self.text,
            "category": self.category,
            "turns": list(self.turns),
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
        }
