"""Rule metrics against hand-worked LCS values and the libraries' own reference outputs."""

from __future__ import annotations

import pytest
import sacrebleu
from rapidfuzz.distance import Levenshtein

from modeleval.scoring.config import NormalizationConfig, RuleConfig
from modeleval.scoring.rules import RuleScorer, edit_similarity, rouge_l


def f1(lcs: int, answer_len: int, target_len: int) -> float:
    p, r = lcs / answer_len, lcs / target_len
    return 2 * p * r / (p + r)


@pytest.mark.parametrize(
    ("answer", "target", "expected"),
    [
        # LCS("今天天气不错", "今天天气很好") = "今天天气" = 4 of 6 characters each side.
        ("今天天气不错", "今天天气很好", f1(4, 6, 6)),
        # LCS = 我喜欢猫 (4): answer 5 chars, target 6 chars.
        ("我很喜欢猫", "我喜欢小猫咪", f1(4, 5, 6)),
        # Identical Chinese text: 1.0; no shared character: 0.0.
        ("人工智能", "人工智能", 1.0),
        ("你好", "再见", 0.0),
        # Word level: LCS(the cat sat on the mat / the cat is on the mat) = the cat on the mat.
        ("the cat sat on the mat", "the cat is on the mat", f1(5, 6, 6)),
        # Case and punctuation are not tokens.
        ("The cat, sat.", "the cat sat", 1.0),
        # Mixed: CJK characters plus the word "gpu" = tokens [用, gpu, 训, 练] vs [用, cpu, 训, 练].
        ("用GPU训练", "用CPU训练", f1(3, 4, 4)),
        ("", "今天", 0.0),
    ],
)
def test_rouge_l_known_answers(answer: str, target: str, expected: float) -> None:
    assert rouge_l(answer, target) == pytest.approx(expected)


def test_rouge_l_chinese_is_character_level_not_zero() -> None:
    # rouge-score's default tokenizer drops CJK and would give 0.0 here.
    assert rouge_l("今天天气不错", "今天天气很好") == pytest.approx(2 / 3)
    # Word-level scoring of unsegmented Chinese would see one token each side and give 0.
    assert rouge_l("今天天气不错", "今天天气很好", cjk=False) == 0.0


@pytest.mark.parametrize(
    ("answer", "target", "tokenize"),
    [
        ("今天天气不错", "今天天气很好", "zh"),
        ("我们明天去北京参观故宫博物院。", "我们明天去北京故宫博物院参观。", "zh"),
        ("the cat sat on the mat", "the cat is on the mat", "13a"),
        (
            "It is a guide to action that ensures the military always obeys.",
            "It is a guide to action which ensures that the military always obeys the commands.",
            "13a",
        ),
    ],
)
def test_bleu_matches_sacrebleu_sentence_bleu(answer: str, target: str, tokenize: str) -> None:
    scorer = RuleScorer(RuleConfig(score_modes=["similarity"], similarity_metrics=["bleu"]))
    expected = sacrebleu.sentence_bleu(answer, [target], tokenize=tokenize).score / 100
    assert scorer.score(answer, target)["bleu"] == pytest.approx(expected, abs=1e-12)
    assert 0.0 < expected < 1.0


def test_bleu_chinese_uses_zh_tokenizer() -> None:
    scorer = RuleScorer(RuleConfig(score_modes=["similarity"], similarity_metrics=["bleu"]))
    zh = sacrebleu.sentence_bleu("今天天气不错", ["今天天气很好"], tokenize="zh").score / 100
    intl13a = sacrebleu.sentence_bleu("今天天气不错", ["今天天气很好"], tokenize="13a").score
    assert intl13a == 0.0  # one "word" each side under 13a
    assert scorer.score("今天天气不错", "今天天气很好")["bleu"] == pytest.approx(zh)
    # Independent check of the zh value: 1-4 gram precisions 4/6, 3/5, 2/4, 1/3, BP = 1.
    assert zh == pytest.approx((4 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)


def test_edit_similarity_is_rapidfuzz_normalized_similarity() -> None:
    # Levenshtein("kitten", "sitting") = 3, max length 7 → 1 - 3/7.
    assert edit_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    # One substitution in six characters.
    assert edit_similarity("今天天气不错", "今天天气很错") == pytest.approx(5 / 6)
    # Full-width letters are folded (NFKC) before comparing.
    assert edit_similarity("ＡＢＣ", "ABC") == 1.0
    assert edit_similarity("abc", "xyz") == Levenshtein.normalized_similarity("abc", "xyz")


class TestAccuracy:
    def scorer(self, **rule: object) -> RuleScorer:
        return RuleScorer(RuleConfig.model_validate({"scoreModes": ["accuracy"], **rule}))

    @pytest.mark.parametrize(
        ("answer", "target"),
        [
            ("Paris", "paris"),
            ("  Paris\n", "Paris"),
            ("Paris.", "Paris"),
            ("北京。", "北京"),
            ("“北京”！", "北京"),
            ("ＰＡＲＩＳ", "Paris"),  # full-width → half-width
            ("１２３", "123"),
            ("今天 天气", "今天天气"),
            ("New   York", "new york"),
        ],
    )
    def test_normalised_exact_match(self, answer: str, target: str) -> None:
        assert self.scorer().accuracy(answer, target) == 1.0

    @pytest.mark.parametrize(("answer", "target"), [("Paris", "London"), ("北京市", "北京")])
    def test_mismatch(self, answer: str, target: str) -> None:
        assert self.scorer().accuracy(answer, target) == 0.0

    def test_normalisation_is_configurable(self) -> None:
        strict = NormalizationConfig(
            lowercase=False, collapse_whitespace=False, remove_punctuation=False, nfkc=False
        )
        scorer = self.scorer(normalization=strict.model_dump())
        assert scorer.accuracy("Paris", "paris") == 0.0
        assert scorer.accuracy("Paris.", "Paris") == 0.0
        assert scorer.accuracy("ＰＡＲＩＳ", "PARIS") == 0.0
        assert scorer.accuracy("Paris", "Paris") == 1.0
        case_only = self.scorer(normalization={"lowercase": False})
        assert case_only.accuracy("Paris.", "Paris") == 1.0
        assert case_only.accuracy("paris", "Paris") == 0.0

    def test_contains_variant(self) -> None:
        scorer = self.scorer(accuracyMatch="contains")
        assert scorer.accuracy("我认为答案是北京。", "北京") == 1.0
        assert scorer.accuracy("The capital is PARIS!", "paris") == 1.0
        assert scorer.accuracy("上海", "北京") == 0.0
        assert scorer.accuracy("anything", "") == 0.0  # an empty target matches nothing

    def test_multiple_choice_variant(self) -> None:
        scorer = self.scorer(accuracyMatch="choice")
        assert scorer.accuracy("答案是B", "B") == 1.0
        assert scorer.accuracy("The answer is (C).", "C. 42") == 1.0
        assert scorer.accuracy("答案是A", "B") == 0.0
        assert scorer.accuracy("I am not sure", "B") == 0.0
        # A target without a letter falls back to the normalised exact match.
        assert scorer.accuracy("北京", "北京") == 1.0

    def test_inline_stop_words_chinese_and_english(self) -> None:
        scorer = self.scorer(stopWordList=["的", "了", "the", "a"])
        assert scorer.accuracy("我的猫", "我猫") == 1.0
        assert scorer.accuracy("下雨了", "下雨") == 1.0
        assert scorer.accuracy("The answer", "answer") == 1.0
        assert scorer.accuracy("a cat", "the cat") == 1.0
        assert scorer.accuracy("dog", "cat") == 0.0
        # Without stop words these differ.
        assert self.scorer().accuracy("我的猫", "我猫") == 0.0

    def test_stop_words_are_matched_as_jieba_words(self) -> None:
        # "然后" is one jieba word; "然" alone is not a stop word inside "自然".
        scorer = self.scorer(stopWordList=["然后", "然"])
        assert scorer.accuracy("然后我们回家", "我们回家") == 1.0
        assert scorer.accuracy("自然", "自") == 0.0

    def test_stop_words_from_file(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        path = tmp_path / "stopwords.txt"
        path.write_text("# 停用词\n的\n\nthe\n", encoding="utf-8")
        scorer = self.scorer(stopWordsPath=str(path), stopWordList=["了"])
        assert scorer.stop_words.words == frozenset({"的", "the", "了"})
        assert scorer.accuracy("我的书了", "我书") == 1.0


def test_stop_words_apply_to_similarity() -> None:
    plain = RuleScorer(RuleConfig(score_modes=["similarity"], similarity_metrics=["rougeL"]))
    stop = RuleScorer(
        RuleConfig(score_modes=["similarity"], similarity_metrics=["rougeL"], stop_word_list=["的"])
    )
    assert plain.score("我的猫", "我猫")["rougeL"] == pytest.approx(f1(2, 3, 2))
    assert stop.score("我的猫", "我猫")["rougeL"] == 1.0


def test_scorer_enables_metrics_by_mode() -> None:
    assert RuleScorer(RuleConfig()).metric_names == ("accuracy", "rougeL", "bleu", "editDistance")
    sim = RuleScorer(RuleConfig(score_modes=["similarity"]))
    assert sim.metric_names == ("rougeL", "bleu", "editDistance")
    scores = RuleScorer(RuleConfig()).score("今天天气很好", "今天天气很好")
    assert scores == {"accuracy": 1.0, "rougeL": 1.0, "bleu": 1.0, "editDistance": 1.0}
