"""Write the benchmark fixtures: tiny Hugging Face Hub mirrors in the real file formats.

    .tools/reference/lmeval/bin/python tests/reference/make_fixtures.py

Needs pyarrow and PyYAML (the lm-eval reference venv has both; see tests/reference/venvs.py).
Writes ``tests/data/benchmarks/hub/<owner>/<name>/...``: the layout `modeleval benchmarks
mirror` produces and the runner reads (the repository's own paths: native parquet
``<config>/<split>-00000-of-00001.parquet``, or the ``refs/convert/parquet`` export
``<config>/<split>/0000.parquet`` for CMMLU and HellaSwag), with the repositories' column types
(MMLU ``choices: list<string>``, ``answer: int64``; ARC ``choices: struct<text, label>``;
HellaSwag ``label: string``...). Every folder also has a ``README.md`` whose ``configs:``
block lets ``datasets.load_dataset(folder, name=config)`` read it offline, as lm-eval and
EvalScope do in the reference tests.

The questions are our own, written for these tests (their answers are right, but nothing
depends on it): a few hand-written edge cases (whitespace around a question, labels 1-4,
3 and 5 choices, WikiHow markup in HellaSwag, ``\\r\\n`` in a C-Eval explanation) and
generated items. The parquet files are written with pyarrow's defaults (snappy, dictionary
pages), as the Hub's files are; ``variants/`` holds the same MMLU table in other encodings
for the reader's tests.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-not-found]
import pyarrow.parquet as pq  # type: ignore[import-not-found]
import yaml

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "benchmarks" / "hub"
VARIANTS = ROOT / "tests" / "data" / "benchmarks" / "parquet"

MMLU_SUBJECTS = {
    "abstract_algebra": "stem",
    "college_physics": "stem",
    "high_school_geography": "social_sciences",
    "philosophy": "humanities",
    "nutrition": "other",
}
CMMLU_SUBJECTS = ("agronomy", "chinese_history", "computer_science", "anatomy")
CEVAL_SUBJECTS = ("computer_network", "logic", "accountant", "college_programming")


def write(path: Path, rows: list[dict[str, Any]], schema: pa.Schema, **options: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, **options)


def readme(root: Path, configs: list[dict[str, Any]], title: str) -> None:
    meta = yaml.safe_dump({"configs": configs}, sort_keys=False, allow_unicode=True)
    (root / "README.md").write_text(f"---\n{meta}---\n\n# {title}\n", encoding="utf-8")


def arithmetic(rng: random.Random, topic: str) -> tuple[str, list[str], int]:
    a, b = rng.randint(2, 40), rng.randint(2, 40)
    right = a + b
    wrong = sorted({right + d for d in (-3, -1, 2, 5)} - {right})[:3]
    choices = [str(x) for x in [*wrong, right]]
    rng.shuffle(choices)
    return f"In an exercise on {topic}, what is {a} + {b}?", choices, choices.index(str(right))


MMLU_EDGE = [
    (
        "  Which line of latitude divides the Earth into the Northern and Southern Hemispheres?  ",
        ["Tropic of Cancer", "Equator ", "Prime Meridian", "Arctic Circle"],
        1,
    ),
    (
        "Which statement is true?\nI. 2 is prime.\nII. 9 is prime.",
        ["I only", "II only", "Both", "Neither"],
        0,
    ),
]


def build_mmlu() -> None:
    root = OUT / "cais" / "mmlu"
    schema = pa.schema(
        [
            ("question", pa.string()),
            ("subject", pa.string()),
            ("choices", pa.list_(pa.string())),
            ("answer", pa.int64()),
        ]
    )
    configs = []
    for number, subject in enumerate(MMLU_SUBJECTS):
        rng = random.Random(f"mmlu/{subject}")
        sizes = {"test": 5 + number, "validation": 2, "dev": 5}
        for split, size in sizes.items():
            rows = []
            for i in range(size):
                if split == "test" and i < len(MMLU_EDGE) and subject == "high_school_geography":
                    question, choices, answer = MMLU_EDGE[i]
                else:
                    question, choices, answer = arithmetic(rng, subject.replace("_", " "))
                rows.append(
                    {"question": question, "subject": subject, "choices": choices, "answer": answer}
                )
            write(root / subject / f"{split}-00000-of-00001.parquet", rows, schema)
            if subject == "abstract_algebra" and split == "test":
                variants(rows, schema)
        if subject == "abstract_algebra":  # one subject's test file at a real size, for bench/
            rows = [
                {"question": q, "subject": subject, "choices": c, "answer": a}
                for q, c, a in (arithmetic(rng, "abstract algebra") for _ in range(35))
            ]
            write(VARIANTS / "mmlu-test-35.parquet", rows, schema)
        configs.append(
            {
                "config_name": subject,
                "data_files": [
                    {"split": s, "path": f"{subject}/{s}-*"} for s in ("test", "validation", "dev")
                ],
            }
        )
    readme(root, configs, "Fixture mirror of cais/mmlu")


def variants(rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    """The same table in the encodings a Hub file may use (the reader's tests)."""
    table = pa.Table.from_pylist(rows, schema=schema)
    options: dict[str, dict[str, Any]] = {
        "snappy": {},
        "gzip": {"compression": "gzip"},
        "zstd": {"compression": "zstd"},
        "plain": {"compression": "none", "use_dictionary": False},
        "v2": {"data_page_version": "2.0"},
        "pages": {"data_page_size": 64, "row_group_size": 2, "write_batch_size": 1},
    }
    VARIANTS.mkdir(parents=True, exist_ok=True)
    for name, kwargs in options.items():
        pq.write_table(table, VARIANTS / f"mmlu-{name}.parquet", **kwargs)
    expected = json.dumps(table.to_pylist(), ensure_ascii=False, indent=1)
    (VARIANTS / "mmlu.json").write_text(expected + "\n", encoding="utf-8")
    nulls = pa.Table.from_pylist(
        [
            {"s": "x", "n": 1, "f": 0.5, "b": True, "l": ["a", None]},
            {"s": None, "n": None, "f": None, "b": None, "l": None},
            {"s": "", "n": -7, "f": -2.25, "b": False, "l": []},
        ],
        schema=pa.schema(
            [
                ("s", pa.string()),
                ("n", pa.int32()),
                ("f", pa.float64()),
                ("b", pa.bool_()),
                ("l", pa.list_(pa.string())),
            ]
        ),
    )
    pq.write_table(nulls, VARIANTS / "nulls.parquet")
    (VARIANTS / "nulls.json").write_text(json.dumps(nulls.to_pylist()) + "\n", encoding="utf-8")


def letter_rows(
    rng: random.Random, topic: str, size: int, question: str, answer: str
) -> list[dict[str, Any]]:
    rows = []
    for i in range(size):
        a, b = rng.randint(2, 30), rng.randint(2, 30)
        right = a * b
        options = [right, right + 1, right - 2, right + 10]
        rng.shuffle(options)
        rows.append(
            {
                question: f"{topic}第{i + 1}题：{a}乘以{b}等于多少？",
                **{letter: str(v) for letter, v in zip("ABCD", options, strict=True)},
                answer: "ABCD"[options.index(right)],
            }
        )
    return rows


def build_cmmlu() -> None:
    root = OUT / "haonan-li" / "cmmlu"
    columns = ("Question", "A", "B", "C", "D", "Answer")
    schema = pa.schema([(c, pa.string()) for c in columns])
    configs = []
    for number, subject in enumerate(CMMLU_SUBJECTS):
        rng = random.Random(f"cmmlu/{subject}")
        for split, size in (("test", 6 + number), ("dev", 5)):
            rows = letter_rows(rng, subject, size, "Question", "Answer")
            if subject == "agronomy" and split == "test":
                rows[0] = {
                    "Question": " 下列作物中，属于豆科植物的是 ",
                    "A": "水稻",
                    "B": " 大豆",
                    "C": "玉米",
                    "D": "小麦 ",
                    "Answer": "B",
                }
            write(root / subject / split / "0000.parquet", rows, schema)
        configs.append(
            {
                "config_name": subject,
                "data_files": [
                    {"split": s, "path": f"{subject}/{s}/*.parquet"} for s in ("test", "dev")
                ],
            }
        )
    readme(root, configs, "Fixture mirror of haonan-li/cmmlu (refs/convert/parquet layout)")


def build_ceval() -> None:
    root = OUT / "ceval" / "ceval-exam"
    columns = ("question", "A", "B", "C", "D", "answer", "explanation")
    schema = pa.schema([("id", pa.int32())] + [(c, pa.string()) for c in columns])
    configs = []
    for number, subject in enumerate(CEVAL_SUBJECTS):
        rng = random.Random(f"ceval/{subject}")
        for split, size in (("test", 2), ("val", 5 + number), ("dev", 5)):
            rows = letter_rows(rng, subject, size, "question", "answer")
            for i, row in enumerate(rows):
                row["id"] = i
                row["explanation"] = (
                    f"1. 先算乘法。\r\n2. 所以选{row['answer']}。" if split == "dev" else ""
                )
                if split == "test":
                    row["answer"] = ""
            write(root / subject / f"{split}-00000-of-00001.parquet", rows, schema)
        configs.append(
            {
                "config_name": subject,
                "data_files": [
                    {"split": s, "path": f"{subject}/{s}-*"} for s in ("test", "val", "dev")
                ],
            }
        )
    readme(root, configs, "Fixture mirror of ceval/ceval-exam")


def gsm8k_item(rng: random.Random) -> tuple[str, str]:
    kind = rng.randrange(4)
    a, b = rng.randint(3, 60), rng.randint(2, 12)
    if kind == 0:
        return (
            f"Nora has {a} stickers and buys {b} packs with {b} stickers each. How many "
            "stickers does she have now?",
            f"The packs hold {b} * {b} = <<{b}*{b}={b * b}>>{b * b} stickers.\n"
            f"She has {a} + {b * b} = <<{a}+{b * b}={a + b * b}>>{a + b * b} stickers.\n"
            f"#### {a + b * b}",
        )
    if kind == 1:
        total = a * 100 + b
        return (
            f"A road is {total:,} meters long. Workers paved {b} meters. How many meters are left?",
            f"Left to pave: {total} - {b} = <<{total}-{b}={total - b}>>{total - b} meters.\n"
            f"#### {total - b:,}",
        )
    if kind == 2:
        return (
            f"A thermometer shows {b} degrees and then drops by {a + b} degrees. What does it "
            "show now?",
            f"It shows {b} - {a + b} = <<{b}-{a + b}={-a}>>{-a} degrees.\n#### {-a}",
        )
    return (
        f"Pens cost ${b} each. Leo buys {a} pens. How many dollars does he pay?",
        f"He pays {a} * {b} = <<{a}*{b}={a * b}>>{a * b} dollars.\n#### {a * b}",
    )


def build_gsm8k() -> None:
    root = OUT / "openai" / "gsm8k"
    schema = pa.schema([("question", pa.string()), ("answer", pa.string())])
    rng = random.Random("gsm8k")
    for split, size in (("test", 14), ("train", 9)):
        rows = []
        for _ in range(size):
            question, answer = gsm8k_item(rng)
            rows.append({"question": question, "answer": answer})
        write(root / "main" / f"{split}-00000-of-00001.parquet", rows, schema)
    readme(
        root,
        [
            {
                "config_name": "main",
                "data_files": [{"split": s, "path": f"main/{s}-*"} for s in ("train", "test")],
            }
        ],
        "Fixture mirror of openai/gsm8k",
    )


ARC_EDGE = [
    (
        "Which form of energy is produced when a rubber band vibrates?",
        ["chemical", "light", "electrical", "sound"],
        ["A", "B", "C", "D"],
        "D",
    ),
    (
        "A student mixes baking soda and vinegar and sees bubbles. What do the bubbles show? ",
        [
            "a physical change only",
            "a gas is produced",
            "the mixture is freezing",
            "light is absorbed",
        ],
        ["1", "2", "3", "4"],
        "2",
    ),
    (
        "Which tool is best for measuring the volume of a liquid?",
        ["graduated cylinder", "balance", "thermometer"],
        ["A", "B", "C"],
        "A",
    ),
    (
        "Which planet is closest to the Sun?",
        ["Venus", "Earth", "Mars", "Mercury", "Jupiter"],
        ["A", "B", "C", "D", "E"],
        "D",
    ),
    (
        "Which of these is farthest from the Sun?",
        ["Venus", "Earth", "Mars", "Mercury", "Neptune"],
        ["A", "B", "C", "D", "E"],
        "E",
    ),
]
ARC_WORDS = [
    "a rock",
    "a leaf",
    "water vapor",
    "a magnet",
    "sunlight",
    "a seed",
    "salt",
    "an ice cube",
    "a copper wire",
    "sand",
]


def arc_rows(rng: random.Random, prefix: str, size: int, edge: bool) -> list[dict[str, Any]]:
    rows = []
    for i in range(size):
        if edge and i < len(ARC_EDGE):
            question, texts, labels, key = ARC_EDGE[i]
        else:
            texts = rng.sample(ARC_WORDS, 4)
            labels = ["A", "B", "C", "D"]
            key = rng.choice(labels)
            question = f"Which item is listed as choice {key} in this exercise?"
        rows.append(
            {
                "id": f"{prefix}_{i}",
                "question": question,
                "choices": {"text": texts, "label": labels},
                "answerKey": key,
            }
        )
    return rows


def build_arc() -> None:
    root = OUT / "allenai" / "ai2_arc"
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("question", pa.string()),
            (
                "choices",
                pa.struct([("text", pa.list_(pa.string())), ("label", pa.list_(pa.string()))]),
            ),
            ("answerKey", pa.string()),
        ]
    )
    rng = random.Random("arc")
    for split, size in (("test", 9), ("train", 7), ("validation", 2)):
        rows = arc_rows(rng, f"Fixture_{split}", size, edge=split == "test")
        write(root / "ARC-Challenge" / f"{split}-00000-of-00001.parquet", rows, schema)
    readme(
        root,
        [
            {
                "config_name": "ARC-Challenge",
                "data_files": [
                    {"split": s, "path": f"ARC-Challenge/{s}-*"}
                    for s in ("train", "validation", "test")
                ],
            }
        ],
        "Fixture mirror of allenai/ai2_arc",
    )


def hellaswag_row(
    ind: int,
    label: str,
    ctx_a: str,
    ctx_b: str,
    endings: list[str],
    gold: str,
    split: str,
    source: str = "activitynet~fixture",
) -> dict[str, Any]:
    return {
        "ind": ind,
        "activity_label": label,
        "ctx_a": ctx_a,
        "ctx_b": ctx_b,
        "ctx": f"{ctx_a} {ctx_b}".strip(),
        "endings": endings,
        "source_id": source,
        "split": split,
        "split_type": "indomain",
        "label": gold,
    }


HS_EDGE = [
    (
        "Washing dishes",
        "A man stands at a kitchen sink filled with soapy water.",
        "he",
        [
            "picks up a plate and scrubs it with a sponge.",
            "throws the sink out of the window.",
            "starts to play a guitar under the water.",
            "sings to the faucet until it stops.",
        ],
        "0",
    ),
    (
        "Home and Garden",
        "[header] How to repot a houseplant [title] Choose a slightly larger "
        "pot. [step] Pick a pot that is one to two inches wider than the current one.",
        "[title] Water the plant",
        [
            "[step] Water it a day before repotting so the root ball slides out easily.",
            "[step] Paint the leaves blue to keep them cool.",
            "[substeps] Put the plant in the freezer overnight.",
            "[step] Sell the plant and buy a new one instead.",
        ],
        "0",
    ),
]
HS_ACTIVITIES = [
    "Playing violin",
    "Baking cookies",
    "Riding a bike",
    "Painting a fence",
    "Walking the dog",
    "Making tea",
]


def hellaswag_rows(rng: random.Random, split: str, size: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(size):
        if split == "val" and i < len(HS_EDGE):
            label, ctx_a, ctx_b, endings, gold = HS_EDGE[i]
            source = "wikihow~fixture" if "[" in ctx_a else "activitynet~fixture"
            rows.append(hellaswag_row(i, label, ctx_a, ctx_b, endings, gold, split, source))
            continue
        label = rng.choice(HS_ACTIVITIES)
        endings = [
            "keeps going at a steady pace.",
            "stops and looks around.",
            "turns into a cloud of glitter while the audience claps slowly.",
            "finishes the task.",
        ]
        rng.shuffle(endings)
        gold = "" if split == "test" else str(rng.randrange(4))
        rows.append(
            hellaswag_row(
                i, label, f"A person is {label.lower()}.", "the person", endings, gold, split
            )
        )
    return rows


def build_hellaswag() -> None:
    root = OUT / "Rowan" / "hellaswag"
    schema = pa.schema(
        [
            ("ind", pa.int32()),
            ("activity_label", pa.string()),
            ("ctx_a", pa.string()),
            ("ctx_b", pa.string()),
            ("ctx", pa.string()),
            ("endings", pa.list_(pa.string())),
            ("source_id", pa.string()),
            ("split", pa.string()),
            ("split_type", pa.string()),
            ("label", pa.string()),
        ]
    )
    rng = random.Random("hellaswag")
    for split, short, size in (
        ("validation", "val", 9),
        ("train", "train", 7),
        ("test", "test", 2),
    ):
        rows = hellaswag_rows(rng, short, size)
        write(root / "default" / split / "0000.parquet", rows, schema)
    readme(
        root,
        [
            {
                "config_name": "default",
                "data_files": [
                    {"split": s, "path": f"default/{s}/*.parquet"}
                    for s in ("train", "validation", "test")
                ],
            }
        ],
        "Fixture mirror of Rowan/hellaswag (refs/convert/parquet layout)",
    )


def main() -> None:
    for folder in (OUT, VARIANTS):
        if folder.exists():
            shutil.rmtree(folder)
    build_mmlu()
    build_cmmlu()
    build_ceval()
    build_gsm8k()
    build_arc()
    build_hellaswag()
    print(f"wrote {sum(1 for _ in OUT.rglob('*.parquet'))} parquet files under {OUT}")


if __name__ == "__main__":
    main()
