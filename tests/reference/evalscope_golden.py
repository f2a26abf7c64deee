"""Golden outputs from EvalScope itself for C-Eval and CMMLU (generation mode).

    .tools/reference/evalscope/bin/python tests/reference/evalscope_golden.py [OUT_DIR]

Runs in the EvalScope reference venv (``tests/reference/venvs.py``), offline. Builds
EvalScope's registered ``ceval`` and ``cmmlu`` adapters with ``dataset_id`` pointed at the
fixture mirror (CMMLU: EvalScope reads its own ModelScope copy, one table with a ``category``
column and ``"(A) text"`` choices, so that copy is derived from the haonan-li/cmmlu fixture
first), records the prompts it renders (0-shot and 5-shot), feeds scripted completions
(``tests/reference/outputs.py``) through the adapter's own ``calculate_metrics``,
``aggregate_scores`` and ``generate_report``, and writes ``<OUT_DIR>/<benchmark>-generate.json``
(default ``tests/data/benchmarks/golden/evalscope``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "tests" / "data" / "benchmarks" / "hub"
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
for _var in ("HF_DATASETS_CACHE", "EVALSCOPE_CACHE", "MODELSCOPE_CACHE"):
    os.environ[_var] = tempfile.mkdtemp(prefix="modeleval-evalscope-")

import datasets  # type: ignore[import-not-found]  # noqa: E402
import evalscope  # type: ignore[import-not-found]  # noqa: E402
import evalscope.benchmarks  # type: ignore[import-not-found]  # noqa: E402
import pyarrow as pa  # type: ignore[import-not-found]  # noqa: E402
import pyarrow.parquet as pq  # type: ignore[import-not-found]  # noqa: E402
import yaml  # noqa: E402
from evalscope.api.evaluator import TaskState  # type: ignore[import-not-found]  # noqa: E402
from evalscope.api.model import ModelOutput  # type: ignore[import-not-found]  # noqa: E402
from evalscope.api.registry import get_benchmark  # type: ignore[import-not-found]  # noqa: E402
from evalscope.config import TaskConfig  # type: ignore[import-not-found]  # noqa: E402

from tests.reference import outputs  # noqa: E402
from tests.reference.make_fixtures import CEVAL_SUBJECTS, CMMLU_SUBJECTS  # noqa: E402

datasets.disable_progress_bars()


def evalscope_cmmlu(folder: Path) -> Path:
    """EvalScope's CMMLU copy, built from our haonan-li/cmmlu fixture."""
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("question", pa.string()),
            ("category", pa.string()),
            ("choices", pa.list_(pa.string())),
            ("answer", pa.string()),
        ]
    )
    for split in ("test", "dev"):
        rows = []
        for subject in CMMLU_SUBJECTS:
            path = HUB / "haonan-li" / "cmmlu" / subject / split / "0000.parquet"
            for i, row in enumerate(pq.read_table(path).to_pylist()):
                choices = [f"({letter}) {row[letter]}" for letter in "ABCD"]
                rows.append(
                    {
                        "id": f"{split}_{subject}_{i}",
                        "question": row["Question"],
                        "category": subject,
                        "choices": choices,
                        "answer": choices["ABCD".index(row["Answer"])],
                    }
                )
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / f"{split}.parquet")
    configs = [
        {
            "config_name": "default",
            "data_files": [{"split": s, "path": f"{s}.parquet"} for s in ("test", "dev")],
        }
    ]
    meta = yaml.safe_dump({"configs": configs})
    (folder / "README.md").write_text(f"---\n{meta}---\n", encoding="utf-8")
    return folder


def adapter(name: str, dataset_id: Path, subsets: list[str], shots: int) -> Any:
    config = TaskConfig(
        model="scripted",
        eval_type="mock_llm",
        datasets=[name],
        dataset_args={
            name: {"dataset_id": str(dataset_id), "subset_list": subsets, "few_shot_num": shots}
        },
    )
    built = get_benchmark(name, config)
    built.load_dataset()
    return built


def messages(sample: Any) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in sample.input]


def run(name: str, dataset_id: Path, subsets: list[str], shots: int) -> dict[str, Any]:
    zero = adapter(name, dataset_id, subsets, 0)
    built = adapter(name, dataset_id, subsets, shots)
    items: list[dict[str, Any]] = []
    per_subset: dict[str, Any] = {}
    for subset, dataset in built.test_dataset.items():
        scores = []
        plain = list(zero.test_dataset[subset])
        for index, sample in enumerate(dataset):
            key = f"{name}/{subset}/{index}"
            text = outputs.chinese_answer(key, sample.target, len(sample.choices))
            output = ModelOutput.from_content(model="scripted", content=text)
            state = TaskState(
                model="scripted",
                sample=sample,
                messages=[*sample.input, output.message],
                output=output,
                completed=True,
            )
            scored = built.calculate_metrics(state)
            scores.append(scored)
            items.append(
                {
                    "subset": subset,
                    "index": index,
                    "target": sample.target,
                    "prompt0": messages(plain[index]),
                    "prompt": messages(sample),
                    "output": text,
                    "extracted": scored.score.extracted_prediction,
                    "metrics": {"acc": float(next(iter(scored.score.value.values())))},
                }
            )
        per_subset[subset] = built.aggregate_scores(scores)
    with tempfile.TemporaryDirectory() as tmp:
        report = built.generate_report(per_subset, model_name="scripted", output_dir=tmp)
    (metric,) = report.metrics
    return {
        "reference": f"EvalScope {evalscope.__version__}",
        "shots": shots,
        "items": items,
        "subsets": {
            s.name: {"category": c.name[0], "n": s.num, "scores": {"acc": s.score}}
            for c in metric.categories
            for s in c.subsets
        },
        "categories": {
            c.name[0]: {"n": c.num, "scores": {"acc": c.score}, "macro": {"acc": c.macro_score}}
            for c in metric.categories
        },
        "micro": {"acc": metric.score},
        "macro": {"acc": metric.macro_score},
    }


def main() -> None:
    out = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/data/benchmarks/golden/evalscope"
    )
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="modeleval-evalscope-cmmlu-") as tmp:
        runs = {
            "ceval-generate": ("ceval", HUB / "ceval" / "ceval-exam", list(CEVAL_SUBJECTS), 5),
            "cmmlu-generate": ("cmmlu", evalscope_cmmlu(Path(tmp)), list(CMMLU_SUBJECTS), 5),
        }
        for file_name, (name, dataset_id, subsets, shots) in runs.items():
            golden = run(name, dataset_id, subsets, shots)
            path = out / f"{file_name}.json"
            path.write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", "utf-8")
            print(f"{path}: {len(golden['items'])} items, score {golden['micro']}")


if __name__ == "__main__":
    main()
