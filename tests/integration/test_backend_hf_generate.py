"""hf: backend end to end with a real (tiny, randomly initialised) transformers checkpoint built locally.

Nothing is downloaded: the tokenizer is trained on two sentences and the model is a one-layer Llama, both
saved with `save_pretrained` into a temporary folder, exactly as a user's local checkpoint would be.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from distillscope.model import get_model
from distillscope.types import GenerateParams, GenerateRequest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


def _checkpoint(root: Path, *, chat_template: str | None) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = ["who made you ? I am a tiny model made by nobody .", "system user assistant hello world"]
    tk.train_from_iterator(
        corpus, trainers.WordLevelTrainer(special_tokens=["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"])
    )
    tok = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tk, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="</s>"
    )
    if chat_template:
        tok.chat_template = chat_template
    tok.save_pretrained(root)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(root)
    return root


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _checkpoint(tmp_path_factory.mktemp("tiny-llama"), chat_template=CHAT_TEMPLATE)


async def test_greedy_generation_is_deterministic_and_counted(tiny_checkpoint: Path) -> None:
    model = get_model(f"hf:{tiny_checkpoint}")
    request = GenerateRequest.chat(
        "who made you ?", system="hello", params=GenerateParams(temperature=0.0, max_tokens=6)
    )
    first = await model.generate(request)
    again = await model.generate(
        GenerateRequest.chat(
            "who made you ?", system="hello", params=GenerateParams(temperature=0.0, max_tokens=6, seed=9)
        )
    )
    assert isinstance(first.text, str) and first.model == f"hf:{tiny_checkpoint.name}"
    assert 0 < first.usage.completion_tokens <= 6 and first.usage.prompt_tokens >= 8
    assert first.status == "ok" and first.finish_reason in ("length", "stop")
    assert again.text == first.text  # greedy: the seed does not matter
    words = first.text.split()
    if len(words) >= 2:  # a stop string cuts the answer where it starts
        cut = await model.generate(
            GenerateRequest.chat(
                "who made you ?",
                system="hello",
                params=GenerateParams(temperature=0.0, max_tokens=6, stop=(" " + words[1],)),
            )
        )
        assert cut.text == first.text[: first.text.index(" " + words[1])] and cut.finish_reason == "stop"


async def test_sampling_follows_the_seed(tiny_checkpoint: Path) -> None:
    model = get_model(f"hf:{tiny_checkpoint}")

    async def sample(seed: int) -> str:
        params = GenerateParams(temperature=1.5, max_tokens=12, seed=seed)
        return (await model.generate(GenerateRequest.chat("hello world", params=params))).text

    a, b = await sample(1), await sample(1)
    others = {await sample(s) for s in range(2, 8)}
    assert a == b  # same seed, same sample
    assert len(others | {a}) > 1  # different seeds explore


async def test_a_checkpoint_without_chat_template_is_a_clear_error(tmp_path: Path) -> None:
    model = get_model(f"hf:{_checkpoint(tmp_path, chat_template=None)}")
    result = await model.generate(GenerateRequest.chat("hello"))  # the Model records errors, never raises
    assert result.status == "error" and result.error_kind == "invalid_request" and result.attempts == 1
    assert result.error is not None and "no chat template" in result.error
