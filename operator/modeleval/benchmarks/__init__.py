"""Standard benchmarks (MMLU, CMMLU, C-Eval, GSM8K, ARC-Challenge, HellaSwag), scored like the
reference harnesses (lm-evaluation-harness, EvalScope).

A layer-1 library (no runner, handler or API imports). Public API::

    from modeleval.benchmarks import DirectoryStore, load_requests, resolve

    spec = resolve("mmlu", mode="loglikelihood", shots=5, subsets=["abstract_algebra"])
    requests = load_requests(spec, DirectoryStore("/mnt/mirror", spec.benchmark.data.repo))
    # ... the runner sends them; predictions come back ...
    result = score_predictions(spec_info, {"model": records})   # see ``results``

Modules: ``definitions`` (the declarative shape), ``catalogue`` and ``subjects`` (the data),
``records`` (rows -> docs), ``fewshot``, ``prompts``, ``requests`` (what is sent),
``extract`` and ``metrics`` (per-item verdicts), ``aggregate`` (subset / category / overall),
``results`` (scores.jsonl, summary.json, report, status), ``data`` (files -> requests),
``parquet`` (a small pure-Python reader).
"""

from modeleval.benchmarks.catalogue import BENCHMARKS, get_benchmark
from modeleval.benchmarks.data import DataError, DirectoryStore, FileStore, load_requests
from modeleval.benchmarks.definitions import GENERATE, LOGLIKELIHOOD, MODES, Benchmark, Variant
from modeleval.benchmarks.requests import Request, RunSpec, resolve

__all__ = [
    "BENCHMARKS",
    "GENERATE",
    "LOGLIKELIHOOD",
    "MODES",
    "Benchmark",
    "DataError",
    "DirectoryStore",
    "FileStore",
    "Request",
    "RunSpec",
    "Variant",
    "get_benchmark",
    "load_requests",
    "resolve",
]
