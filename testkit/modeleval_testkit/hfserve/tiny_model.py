"""Make a tiny Llama that ``transformers serve`` can load, without any download.

    <serving venv>/bin/python tiny_model.py OUT_DIR

Run by the serving venv's interpreter (it needs torch and transformers; the test kit's own
environment has neither): `modeleval_testkit.hfserve.make_tiny_model` does that.

OUT_DIR gets ``config.json``, ``generation_config.json``, ``model.safetensors`` (~0.5 MB) and a
tokenizer: a byte-level BPE trained here on a small built-in text, ChatML special tokens and a
chat template. The model (2 layers, hidden size 64) is then trained for a few seconds to answer
every chat prompt with ``REPLY`` followed by its end-of-turn token, so that served answers are
known in advance: a judge reply with a score in it, a rule-scoring target, a truncation point
(``max_tokens`` below its length gives ``finish_reason: length``). Greedy decoding (the default
generation config) keeps answers deterministic. Seeded and single-threaded: the same files from
the same arguments, on the same CPU.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

REPLY = "Score: 4. The answer is fine."
"""What the trained model answers to any chat prompt."""

CORPUS = """\
The quick brown fox jumps over the lazy dog. A model server answers requests.
Kubernetes runs containers in pods; an operator watches custom resources and reconciles them.
Evaluation compares a candidate model with a baseline on the same prompts and scores the answers.
What is the capital of France? The capital of France is Paris. Score: 4. The answer is fine.
What is two plus two? Two plus two is four. Numbers: 0 1 2 3 4 5 6 7 8 9 10 16 32 64 128.
Translate to French: good morning. Bonjour. Rate the answer from 1 to 5.
The answer is yes. The answer is no. I do not know. Question, reference, candidate answer.
模型评估比较候选模型和基线模型。今天天气很好。你好，世界！
Hello, world! Goodbye, world. {"key": "value", "list": [1, 2, 3]}
def add(a, b):
    return a + b
"""

SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""ChatML; ``content`` may be a string or a list of OpenAI content parts."""


def train_tokenizer(vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS.splitlines(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|begin_of_text|>",
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=2048,
        clean_up_tokenization_spaces=False,
    )


def training_prompts(rng: random.Random, count: int) -> list[str]:
    """Prompts like those the tests send: questions, judge prompts, bits of the corpus."""
    words = CORPUS.split()
    prompts = []
    for _ in range(count):
        length = rng.randint(1, 40)
        prompts.append(" ".join(rng.choice(words) for _ in range(length)))
    return prompts


def train(model: Any, tokenizer: Any, *, steps: int, seed: int) -> float:
    """Teach ``model`` to answer any chat prompt with ``REPLY``; returns the last loss."""
    import torch

    rng = random.Random(seed)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    reply = tokenizer(REPLY, add_special_tokens=False)["input_ids"] + [end]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    loss_value = float("nan")
    for _ in range(steps):
        batch_ids, batch_labels = [], []
        for prompt in training_prompts(rng, 16):
            system = [{"role": "system", "content": "Be brief."}] if rng.random() < 0.3 else []
            messages = [*system, {"role": "user", "content": prompt}]
            head = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=True, return_dict=False
            )
            head = list(head["input_ids"] if isinstance(head, dict) else head)
            batch_ids.append(head + reply)
            batch_labels.append([-100] * len(head) + reply)
        width = max(len(ids) for ids in batch_ids)
        pad = tokenizer.pad_token_id
        ids = torch.tensor([x + [pad] * (width - len(x)) for x in batch_ids])
        labels = torch.tensor([y + [-100] * (width - len(y)) for y in batch_labels])
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in batch_ids])
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_value = float(loss.detach())
    model.eval()
    return loss_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--vocab-size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()

    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    tokenizer = train_tokenizer(args.vocab_size)
    ids = tokenizer.convert_tokens_to_ids
    eos_ids = [ids("<|im_end|>"), ids("<|end_of_text|>")]
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=ids("<|begin_of_text|>"),
        eos_token_id=eos_ids,
        pad_token_id=ids("<|pad|>"),
        tie_word_embeddings=True,
        dtype="float32",
    )
    model = LlamaForCausalLM(config)
    loss = train(model, tokenizer, steps=args.steps, seed=args.seed)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=eos_ids,
        pad_token_id=config.pad_token_id,
        max_new_tokens=64,
        do_sample=False,
    )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out_dir)
    tokenizer.save_pretrained(args.out_dir)
    for path in args.out_dir.iterdir():  # readable by a server running under another uid
        path.chmod(0o644)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is two plus two?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**prompt, max_new_tokens=32)
    answer = tokenizer.decode(out[0][prompt["input_ids"].shape[1] :], skip_special_tokens=True)
    print(f"{args.out_dir}: loss {loss:.4f}; answers {answer!r}")
    if answer != REPLY:
        raise SystemExit(f"training did not converge: answers {answer!r}, wanted {REPLY!r}")


if __name__ == "__main__":
    main()
