"""Golden outputs from lm-evaluation-harness itself, on our fixtures and scripted model outputs.

    .tools/reference/lmeval/bin/python tests/reference/lmeval_golden.py [OUT_DIR]

Runs in the lm-eval reference venv (``tests/reference/venvs.py``), offline. For each of our
benchmark variants it loads lm-eval's own task configs with their ``dataset_path`` pointed at
``tests/data/benchmarks/hub`` (a wrapper group YAML, as a user overriding the data would
write), runs ``lm_eval.simple_evaluate`` with a model that returns scripted outputs
(``tests/reference/outputs.py``) and records, per item: the 0-shot and k-shot prompts
lm-eval renders (plain text, and chat turns with ``fewshot_as_multiturn`` for generation
tasks), the log-likelihood continuations, the scripted output, what lm-eval's filters
extracted and its per-item metrics; per subset lm-eval's task results; per category and
overall ``lm_eval.api.metrics.aggregate_subtask_metrics`` (micro: ``weight_by_size=True``;
macro: ``False``). Writes ``<OUT_DIR>/<benchmark>-<mode>[-<shots>shot].json`` (default
``tests/data/benchmarks/golden/lmeval``); ``tests/unit/benchmarks/test_lmeval_agreement.py``
checks our implementation against them.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "tests" / "data" / "benchmarks" / "hub"
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="modeleval-lmeval-cache-")
os.environ.setdefault("LMEVAL_LOG_LEVEL", "ERROR")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import logging  # noqa: E402

logging.basicConfig(level=logging.ERROR)
for _name in ("lm-eval", "lm_eval", "datasets", "huggingface_hub"):
    logging.getLogger(_name).setLevel(logging.ERROR)

import datasets  # type: ignore[import-not-found]  # noqa: E402
import lm_eval  # type: ignore[import-not-found]  # noqa: E402
from lm_eval import simple_evaluate  # type: ignore[import-not-found]  # noqa: E402
from lm_eval.api.metrics import aggregate_subtask_metrics  # type: ignore[import-not-found]  # noqa: E402
from lm_eval.api.model import LM  # type: ignore[import-not-found]  # noqa: E402
from lm_eval.tasks import TaskManager  # type: ignore[import-not-found]  # noqa: E402

from tests.reference import outputs  # noqa: E402
from tests.reference.make_fixtures import CEVAL_SUBJECTS, CMMLU_SUBJECTS, MMLU_SUBJECTS  # noqa: E402

datasets.disable_progress_bars()

CMMLU_CATEGORY = {
    "agronomy": "Other",
    "chinese_history": "China specific",
    "computer_science": "STEM",
    "anatomy": "STEM",
}
CEVAL_CATEGORY = {
    "computer_network": "STEM",
    "logic": "Humanities",
    "accountant": "Other",
    "college_programming": "STEM",
}


def mmlu_letter(doc: dict[str, Any]) -> tuple[str, int, str]:
    return "ABCD"[doc["answer"]], len(doc["choices"]), doc["choices"][doc["answer"]]


def arc_letter(doc: dict[str, Any]) -> tuple[str, int, str]:
    labels, texts = doc["choices"]["label"], doc["choices"]["text"]
    index = labels.index(doc["answerKey"])
    return "ABCDE"[index], len(texts), texts[index]


def gsm8k_number(doc: dict[str, Any]) -> str:
    return str(doc["answer"].split("####")[-1].strip())


Output = Callable[[str, dict[str, Any]], str]


def letters(pick: Callable[[dict[str, Any]], tuple[str, int, str]]) -> Output:
    def make(key: str, doc: dict[str, Any]) -> str:
        gold, n, text = pick(doc)
        return outputs.letter_answer(key, gold, n, text)

    return make


def numbers(cot: bool) -> Output:
    def make(key: str, doc: dict[str, Any]) -> str:
        return outputs.number_answer(key, gsm8k_number(doc), cot)

    return make


# name, (benchmark, mode), tasks -> (subset, category), shots, output maker, metric renames
RUNS: list[dict[str, Any]] = [
    {
        "name": "mmlu-loglikelihood",
        "repo": "cais/mmlu",
        "tasks": {f"mmlu_{s}": (s, c) for s, c in MMLU_SUBJECTS.items()},
        "shots": 5,
    },
    {
        "name": "mmlu-generate",
        "repo": "cais/mmlu",
        "tasks": {f"mmlu_{s}_generative": (s, c) for s, c in MMLU_SUBJECTS.items()},
        "shots": 3,
        "output": letters(mmlu_letter),
        "metrics": {"exact_match,get_response": "exact_match"},
    },
    {
        "name": "cmmlu-loglikelihood",
        "repo": "haonan-li/cmmlu",
        "tasks": {f"cmmlu_{s}": (s, CMMLU_CATEGORY[s]) for s in CMMLU_SUBJECTS},
        "shots": 5,
    },
    {
        "name": "ceval-loglikelihood",
        "repo": "ceval/ceval-exam",
        "tasks": {f"ceval-valid_{s}": (s, CEVAL_CATEGORY[s]) for s in CEVAL_SUBJECTS},
        "shots": 5,
    },
    {
        "name": "gsm8k-generate",
        "repo": "openai/gsm8k",
        "tasks": {"gsm8k": ("main", "main")},
        "shots": 5,
        "output": numbers(cot=False),
        "metrics": {
            "exact_match,strict-match": "exact_match_strict",
            "exact_match,flexible-extract": "exact_match_flexible",
        },
    },
    {
        "name": "gsm8k_cot-generate",
        "repo": "openai/gsm8k",
        "tasks": {"gsm8k_cot": ("main", "main")},
        "shots": 8,
        "output": numbers(cot=True),
        "metrics": {
            "exact_match,strict-match": "exact_match_strict",
            "exact_match,flexible-extract": "exact_match_flexible",
        },
    },
    {
        "name": "gsm8k_cot-generate-0shot",
        "repo": "openai/gsm8k",
        "tasks": {"gsm8k_cot_zeroshot": ("main", "main")},
        "shots": 0,
        "output": numbers(cot=True),
        "metrics": {
            "exact_match,strict-match": "exact_match_strict",
            "exact_match,flexible-extract": "exact_match_flexible",
        },
    },
    {
        "name": "arc_challenge-loglikelihood",
        "repo": "allenai/ai2_arc",
        "tasks": {"arc_challenge": ("ARC-Challenge", "ARC-Challenge")},
        "shots": 3,
    },
    {
        "name": "arc_challenge-generate",
        "repo": "allenai/ai2_arc",
        "tasks": {"arc_challenge_chat": ("ARC-Challenge", "ARC-Challenge")},
        "shots": 0,
        "output": letters(arc_letter),
        "metrics": {"exact_match,remove_whitespace": "exact_match"},
    },
    {
        "name": "hellaswag-loglikelihood",
        "repo": "Rowan/hellaswag",
        "tasks": {"hellaswag": ("default", "default")},
        "shots": 2,
    },
]


class ScriptedLM(LM):  # type: ignore[misc]
    """Returns scripted outputs: log-likelihoods by (task, doc, choice), texts by (task, doc)."""

    def __init__(self, output: Output | None) -> None:
        super().__init__()
        self.output = output

    def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
        return [
            (outputs.loglikelihoods(f"{r.task_name}/{r.doc_id}", 5)[r.idx], False) for r in requests
        ]

    def generate_until(self, requests: list[Any]) -> list[str]:
        assert self.output is not None
        return [self.output(f"{r.task_name}/{r.doc_id}", r.doc) for r in requests]

    def loglikelihood_rolling(self, requests: list[Any]) -> list[float]:
        raise NotImplementedError


def chat_template(messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
    return json.dumps(messages, ensure_ascii=False)


def wrapper(folder: Path, run: dict[str, Any]) -> str:
    group = "ref_" + run["name"].replace("-", "_")
    lines = [f"group: {group}", "task:"]
    for task in run["tasks"]:
        lines += [f"  - task: {task}", f"    dataset_path: {HUB / run['repo']}"]
    (folder / f"{group}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return group


def render(task: Any, shots: int, generate: bool) -> dict[int, dict[str, Any]]:
    """Prompts lm-eval renders for every doc: 0-shot, k-shot text and k-shot chat turns."""
    docs = list(task.eval_docs)
    out: dict[int, dict[str, Any]] = {i: {} for i in range(len(docs))}
    passes = [("prompt0", 0, False), ("prompt", shots, False)]
    if generate:
        passes.append(("chat", shots, True))
    for key, k, chat in passes:
        task.set_fewshot_seed(1234)
        for i, doc in enumerate(docs):
            context = task.fewshot_context(
                doc,
                num_fewshot=k,
                apply_chat_template=chat,
                fewshot_as_multiturn=True,
                chat_template=chat_template if chat else None,
                gen_prefix=task.doc_to_prefix(doc),
            )
            out[i][key] = json.loads(context) if chat else context
    return out


def run_one(tm: TaskManager, folder: Path, run: dict[str, Any]) -> dict[str, Any]:
    group = wrapper(folder, run)
    tm = TaskManager(include_path=str(folder))
    generate = "output" in run
    result = simple_evaluate(
        model=ScriptedLM(run.get("output")),
        tasks=[group],
        task_manager=tm,
        num_fewshot=run["shots"],
        log_samples=True,
        bootstrap_iters=0,
    )
    renames = run.get("metrics") or {"acc,none": "acc", "acc_norm,none": "acc_norm"}
    loaded = tm.load([group])["tasks"]
    items: list[dict[str, Any]] = []
    subsets: dict[str, Any] = {}
    for task_name, (subset, category) in run["tasks"].items():
        prompts = render(loaded[task_name], run["shots"], generate)
        by_doc: dict[int, dict[str, Any]] = {}
        for sample in result["samples"][task_name]:
            item = by_doc.setdefault(
                sample["doc_id"],
                {
                    "subset": subset,
                    "index": sample["doc_id"],
                    **prompts[sample["doc_id"]],
                    "metrics": {},
                    "extracted": {},
                },
            )
            if generate:
                item["output"] = sample["resps"][0][0]
                item["stop"] = sample["arguments"][0][1].get("until")
                item["max_tokens"] = sample["arguments"][0][1].get("max_gen_toks")
                item["context"] = sample["arguments"][0][0]
            else:
                item["context"] = sample["arguments"][0][0]
                item["continuations"] = [a[1] for a in sample["arguments"]]
                item["output"] = [r[0][0] for r in sample["resps"]]
            for metric in sample["metrics"]:
                name = renames.get(f"{metric},{sample['filter']}")
                if name:
                    item["metrics"][name] = float(sample[metric])
                    if generate:
                        item["extracted"][name] = sample["filtered_resps"][0]
        items += [by_doc[i] for i in sorted(by_doc)]
        scores = result["results"][task_name]
        subsets[subset] = {
            "category": category,
            "n": len(by_doc),
            "scores": {
                ours: float(scores[theirs]) for theirs, ours in renames.items() if theirs in scores
            },
        }
    names = sorted({m for s in subsets.values() for m in s["scores"]})

    def combine(members: list[str], weight: bool) -> dict[str, float]:
        return {
            m: float(
                aggregate_subtask_metrics(
                    [subsets[s]["scores"][m] for s in members],
                    [subsets[s]["n"] for s in members],
                    weight,
                )
            )
            for m in names
        }

    categories = sorted({s["category"] for s in subsets.values()})
    return {
        "reference": f"lm-eval {lm_eval.__version__}",
        "tasks": list(run["tasks"]),
        "shots": run["shots"],
        "items": items,
        "subsets": subsets,
        "categories": {
            c: combine([s for s, v in subsets.items() if v["category"] == c], True)
            for c in categories
        },
        "micro": combine(list(subsets), True),
        "macro": combine(list(subsets), False),
    }


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/data/benchmarks/golden/lmeval"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="modeleval-lmeval-tasks-") as tmp:
        folder = Path(tmp)
        tm = TaskManager(include_path=str(folder))
        for run in RUNS:
            golden = run_one(tm, folder, run)
            path = out / f"{run['name']}.json"
            path.write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", "utf-8")
            print(f"{path}: {len(golden['items'])} items, micro {golden['micro']}")


if __name__ == "__main__":
    main()
