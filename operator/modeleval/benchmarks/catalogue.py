"""The benchmark catalogue (data): what ``spec.benchmark.name`` may be.

Every variant reproduces one reference-harness task; prompt strings, regexes and defaults are
those of lm-evaluation-harness 0.4.13 and EvalScope 1.14.1 (see docs/standard-benchmarks.md
for the differences we chose). ``tests/unit/benchmarks`` checks each one against the
harnesses' own outputs.
"""

from __future__ import annotations

from modeleval.benchmarks.definitions import (
    GENERATE,
    LOGLIKELIHOOD,
    Benchmark,
    ChoiceMatch,
    DataFiles,
    EvalScopePrompt,
    ExactMatch,
    FewShot,
    LmEvalPrompt,
    Regex,
    Shot,
    Strip,
    Subset,
    Variant,
)
from modeleval.benchmarks.subjects import CEVAL_SUBJECTS, CMMLU_SUBJECTS, MMLU_SUBJECTS

LM_EVAL = "lm-eval 0.4.13"
EVALSCOPE = "EvalScope 1.14.1"

# -- multiple-choice prompts shared by MMLU, CMMLU and C-Eval -----------------------------------

_MMLU_PROMPT = LmEvalPrompt(
    description="The following are multiple choice questions (with answers) about "
    "{subject_title}.\n\n",
    question="{question_strip}\n{options4}\nAnswer:",
    answer="{gold_label}",
)
_ZH_QUESTION = "{question_strip}\n{options4}\n答案："

_ZH_INSTRUCTION_TAIL = "\n\n问题：{question}\n选项：\n{options}\n"
_CEVAL_GENERATE = EvalScopePrompt(
    instruction="以下是中国关于{subject_zh}的单项选择题，请选出其中的正确答案。"
    '你的回答的最后一行应该是这样的格式："答案：[LETTER]"（不带引号），'
    "其中 [LETTER] 是 A、B、C、D 中的一个。" + _ZH_INSTRUCTION_TAIL,
    option="{label}. {text}",
    shot="问题：{question}\n选项：\n{options}\n解析：{explanation}\n答案：{gold_label}",
    joiner="\n",
)
_CMMLU_GENERATE = EvalScopePrompt(
    instruction="回答下面的单项选择题，请选出其中的正确答案。"
    '你的回答的最后一行应该是这样的格式："答案：[LETTER]"（不带引号），'
    "其中 [LETTER] 是 {letters} 中的一个。请在回答前进行一步步思考。" + _ZH_INSTRUCTION_TAIL,
    option="{label}) {text}",
    shot="问题：{question}\n选项：\n{options}\n答案：{gold_label}",
    strip_options=True,
)

# -- GSM8K --------------------------------------------------------------------------------------

_GSM8K_IGNORE = (",", "\\$", "(?s).*#### ", "\\.$")
_GSM8K_FLEXIBLE = ExactMatch(
    "exact_match_flexible",
    (Regex(r"(-?[$0-9.,]{2,})|(-?[0-9]+)", group=-1),),
    ignore_case=True,
    ignore=_GSM8K_IGNORE,
)
_GSM8K_UNTIL = ("Question:", "</s>", "<|im_end|>")
_COT_SHOTS = (
    Shot(
        "There are 15 trees in the grove. Grove workers will plant trees in the grove today. "
        "After they are done, there will be 21 trees. How many trees did the grove workers "
        "plant today?",
        "There are 15 trees originally. Then there were 21 trees after some more were planted. "
        "So there must have been 21 - 15 = 6. The answer is 6.",
    ),
    Shot(
        "If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in "
        "the parking lot?",
        "There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.",
    ),
    Shot(
        "Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they "
        "have left in total?",
        "Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = "
        "74. After eating 35, they had 74 - 35 = 39. The answer is 39.",
    ),
    Shot(
        "Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How "
        "many lollipops did Jason give to Denny?",
        "Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave "
        "Denny 20 - 12 = 8. The answer is 8.",
    ),
    Shot(
        "Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How "
        "many toys does he have now?",
        "Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 "
        "more toys. 5 + 4 = 9. The answer is 9.",
    ),
    Shot(
        "There were nine computers in the server room. Five more computers were installed each "
        "day, from monday to thursday. How many computers are now in the server room?",
        "There were originally 9 computers. For each of 4 days, 5 more computers were added. So "
        "5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is 29.",
    ),
    Shot(
        "Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 "
        "more. How many golf balls did he have at the end of wednesday?",
        "Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. "
        "After losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33.",
    ),
    Shot(
        "Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
        "Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she "
        "has 23 - 15 dollars left. 23 - 15 is 8. The answer is 8.",
    ),
)

_MICRO = "the mean over all evaluated questions (micro average"


MMLU = Benchmark(
    name="mmlu",
    title="MMLU",
    record="mmlu",
    data=DataFiles("cais/mmlu", "main", "{subset}/{split}-*.parquet", "test", "dev"),
    subsets=tuple(
        Subset(name, category, title=name.replace("_", " ")) for name, category in MMLU_SUBJECTS
    ),
    categories=("stem", "other", "social_sciences", "humanities"),
    default_mode=LOGLIKELIHOOD,
    variants={
        LOGLIKELIHOOD: Variant(
            mode=LOGLIKELIHOOD,
            reference=f"{LM_EVAL} mmlu",
            prompt=_MMLU_PROMPT,
            fewshot=FewShot(0),
            likelihood_metrics=("acc",),
            headline="acc",
        ),
        GENERATE: Variant(
            mode=GENERATE,
            reference=f"{LM_EVAL} mmlu_generative",
            prompt=_MMLU_PROMPT,
            fewshot=FewShot(0),
            generation_metrics=(
                ExactMatch(
                    "exact_match",
                    (Regex(r"^(.*?)(?=\n|$)"), Strip(), Regex(r"^(.*?)\s*$")),
                    ignore_case=True,
                    ignore_punctuation=True,
                ),
            ),
            until=("</s>", "\n"),
            headline="exact_match",
        ),
    },
    total_score=f"{_MICRO}, as lm-eval's mmlu group) x 100",
)

CMMLU = Benchmark(
    name="cmmlu",
    title="CMMLU",
    record="cmmlu",
    data=DataFiles(
        "haonan-li/cmmlu", "refs/convert/parquet", "{subset}/{split}/*.parquet", "test", "dev"
    ),
    subsets=tuple(Subset(name, category, zh=zh) for name, zh, category in CMMLU_SUBJECTS),
    categories=("STEM", "Humanities", "Social Science", "China specific", "Other"),
    default_mode=LOGLIKELIHOOD,
    variants={
        LOGLIKELIHOOD: Variant(
            mode=LOGLIKELIHOOD,
            reference=f"{LM_EVAL} cmmlu",
            prompt=LmEvalPrompt(
                description="以下是关于{subject_zh}的单项选择题，请直接给出正确答案的选项。\n\n",
                question=_ZH_QUESTION,
                answer="{gold_label}",
            ),
            fewshot=FewShot(0),
            likelihood_metrics=("acc", "acc_norm"),
            headline="acc",
        ),
        GENERATE: Variant(
            mode=GENERATE,
            reference=f"{EVALSCOPE} cmmlu",
            prompt=_CMMLU_GENERATE,
            fewshot=FewShot(0),
            generation_metrics=(ChoiceMatch("acc"),),
            headline="acc",
            aggregation="evalscope",
        ),
    },
    total_score=f"{_MICRO}, as lm-eval's cmmlu group and EvalScope's score) x 100",
)

CEVAL = Benchmark(
    name="ceval",
    title="C-Eval (validation)",
    record="ceval",
    data=DataFiles("ceval/ceval-exam", "main", "{subset}/{split}-*.parquet", "val", "dev"),
    subsets=tuple(Subset(name, category, zh=zh) for name, zh, category in CEVAL_SUBJECTS),
    categories=("STEM", "Social Science", "Humanities", "Other"),
    default_mode=LOGLIKELIHOOD,
    variants={
        LOGLIKELIHOOD: Variant(
            mode=LOGLIKELIHOOD,
            reference=f"{LM_EVAL} ceval-valid",
            prompt=LmEvalPrompt(
                description="以下是中国关于{subject_zh}的单项选择题，请选出其中的正确答案。\n\n",
                question=_ZH_QUESTION,
                answer="{gold_label}",
            ),
            fewshot=FewShot(0),
            likelihood_metrics=("acc", "acc_norm"),
            headline="acc",
        ),
        GENERATE: Variant(
            mode=GENERATE,
            reference=f"{EVALSCOPE} ceval",
            prompt=_CEVAL_GENERATE,
            fewshot=FewShot(5),
            generation_metrics=(ChoiceMatch("acc"),),
            headline="acc",
            aggregation="evalscope",
        ),
    },
    total_score=f"{_MICRO}, as lm-eval's ceval-valid group and EvalScope's score) x 100",
)

GSM8K = Benchmark(
    name="gsm8k",
    title="GSM8K",
    record="gsm8k",
    data=DataFiles("openai/gsm8k", "main", "{subset}/{split}-*.parquet", "test", "train"),
    subsets=(Subset("main", "main"),),
    default_mode=GENERATE,
    variants={
        GENERATE: Variant(
            mode=GENERATE,
            reference=f"{LM_EVAL} gsm8k",
            prompt=LmEvalPrompt(
                question="Question: {question}\nAnswer:", answer="{answer}", target="{answer}"
            ),
            fewshot=FewShot(5, "random"),
            generation_metrics=(
                ExactMatch(
                    "exact_match_strict",
                    (Regex(r"#### (\-?[0-9\.\,]+)"),),
                    ignore_case=True,
                    ignore=_GSM8K_IGNORE,
                ),
                _GSM8K_FLEXIBLE,
            ),
            until=_GSM8K_UNTIL,
            headline="exact_match_strict",
        ),
    },
    total_score="exact_match_strict (the number after '#### ', lm-eval's strict-match) over "
    "all questions x 100; exact_match_flexible (the last number) is reported beside it",
)

GSM8K_COT = Benchmark(
    name="gsm8k_cot",
    title="GSM8K (chain of thought)",
    record="gsm8k",
    data=DataFiles("openai/gsm8k", "main", "{subset}/{split}-*.parquet", "test", None),
    subsets=(Subset("main", "main"),),
    default_mode=GENERATE,
    variants={
        GENERATE: Variant(
            mode=GENERATE,
            reference=f"{LM_EVAL} gsm8k_cot (0 shots: gsm8k_cot_zeroshot)",
            prompt=LmEvalPrompt(
                question="Q: {question}\nA:",
                answer="",
                target="{answer_number}",
                zero_shot_question="Q: {question}\nA: Let's think step by step.",
                zero_shot_target="{answer}",
            ),
            fewshot=FewShot(8, samples=_COT_SHOTS),
            generation_metrics=(
                ExactMatch(
                    "exact_match_strict",
                    (Regex(r"The answer is (\-?[0-9\.\,]+)."),),
                    ignore_case=True,
                    ignore=_GSM8K_IGNORE,
                ),
                _GSM8K_FLEXIBLE,
            ),
            until=("Q:", "</s>", "<|im_end|>"),
            headline="exact_match_strict",
        ),
    },
    total_score="exact_match_strict (the number in 'The answer is N.', lm-eval's strict-match) "
    "over all questions x 100; exact_match_flexible (the last number) is reported beside it",
)

ARC_CHALLENGE = Benchmark(
    name="arc_challenge",
    title="ARC-Challenge",
    record="arc",
    data=DataFiles("allenai/ai2_arc", "main", "{subset}/{split}-*.parquet", "test", "train"),
    subsets=(Subset("ARC-Challenge", "ARC-Challenge"),),
    default_mode=LOGLIKELIHOOD,
    variants={
        LOGLIKELIHOOD: Variant(
            mode=LOGLIKELIHOOD,
            reference=f"{LM_EVAL} arc_challenge",
            prompt=LmEvalPrompt(
                question="Question: {question}\nAnswer:", answer="{gold_text}", choices="texts"
            ),
            fewshot=FewShot(0, "random"),
            likelihood_metrics=("acc", "acc_norm"),
            headline="acc_norm",
        ),
        GENERATE: Variant(
            mode=GENERATE,
            reference=f"{LM_EVAL} arc_challenge_chat",
            prompt=LmEvalPrompt(
                question="Given the following question and four candidate answers (A, B, C and "
                "D), choose the best answer.\nQuestion: {question_strip}\n{options4}\nYour "
                'response should end with "The best answer is [the_answer_letter]" where the '
                "[the_answer_letter] is one of A, B, C or D.",
                answer="{gold_label}",
                gen_prefix="The best answer is",
            ),
            fewshot=FewShot(0, "random"),
            generation_metrics=(
                ExactMatch("exact_match", (Strip(),), ignore_case=True, ignore_punctuation=True),
            ),
            until=("\n\n", "."),
            max_tokens=100,
            headline="exact_match",
        ),
    },
    total_score="log-likelihood: acc_norm (length-normalised accuracy) over all questions x 100;"
    " generation: exact_match x 100",
)

HELLASWAG = Benchmark(
    name="hellaswag",
    title="HellaSwag",
    record="hellaswag",
    data=DataFiles(
        "Rowan/hellaswag",
        "refs/convert/parquet",
        "{subset}/{split}/*.parquet",
        "validation",
        "train",
    ),
    subsets=(Subset("default", "default"),),
    default_mode=LOGLIKELIHOOD,
    variants={
        LOGLIKELIHOOD: Variant(
            mode=LOGLIKELIHOOD,
            reference=f"{LM_EVAL} hellaswag",
            prompt=LmEvalPrompt(question="{question}", answer="{gold_text}", choices="texts"),
            fewshot=FewShot(0, "random", draw_extra=True),
            likelihood_metrics=("acc", "acc_norm"),
            headline="acc_norm",
        ),
    },
    total_score="acc_norm (length-normalised accuracy) over the validation split x 100",
)

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b for b in (MMLU, CMMLU, CEVAL, GSM8K, GSM8K_COT, ARC_CHALLENGE, HELLASWAG)
}


def get_benchmark(name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise ValueError(f"unknown benchmark {name!r} (known: {', '.join(BENCHMARKS)})") from None
