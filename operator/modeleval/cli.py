"""``modeleval``: the command line.

modeleval crds [--apply]             print (or kubectl-apply) the CRDs
modeleval validate -f FILE|DIR ...   check resources against the API models
modeleval run -f FILE|DIR [--out D]  run EvalTasks locally against their endpoints
modeleval demo                       the whole stack on this machine, samples to Succeeded
modeleval results NAME [-n NS]       a finished task's scores from a cluster
modeleval benchmarks list|mirror|verify   the benchmark catalogue; an air-gapped mirror
modeleval console                    serve the web console (needs modeleval[console])
modeleval annotations export|import  offline manual evaluation through the console (CSV)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modeleval import __version__
from modeleval import constants as c
from modeleval.api import EvalTask, ModelEvalServiceGroup
from modeleval.api.intake import Document, IntakeError, read_documents

MODELS: dict[str, Any] = {c.EVAL_TASK_KIND: EvalTask, c.SERVICE_GROUP_KIND: ModelEvalServiceGroup}
EXIT_INVALID = 1
EXIT_USAGE = 2
_CONTROL = dict.fromkeys(range(32), "?") | {127: "?"}


def shown(text: object) -> str:
    """Text from a user's file as printed: control characters (escape sequences, CR, LF)
    become ``?``, so a file can never rewrite the terminal or forge output lines."""
    return str(text).translate(_CONTROL)


def error(message: str) -> None:
    print(f"error: {shown(message)}", file=sys.stderr)


def problems(doc: Document, model: Any) -> list[str]:
    """``FILE:LINE: field: problem`` for each way ``doc`` breaks ``model``; empty: valid."""
    try:
        model.model_validate(doc.body)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(step) for step in loc)
            where = f"{doc.source}:{doc.line_of(loc)}"
            lines.append(
                shown(f"{where}: {field}: {err['msg']}" if field else f"{where}: {err['msg']}")
            )
        return lines
    return []


def _read(args: argparse.Namespace) -> list[Document] | None:
    try:
        return read_documents(args.file, recursive=args.recursive)
    except IntakeError as exc:
        error(str(exc))
        return None


def cmd_crds(args: argparse.Namespace) -> int:
    from modeleval.api.crdgen import KINDS, render_crd

    text = "---\n".join(render_crd(kind) for kind in KINDS)
    if not args.apply:
        sys.stdout.write(text)
        return 0
    return subprocess.run(["kubectl", "apply", "-f", "-"], input=text, text=True).returncode


def cmd_validate(args: argparse.Namespace) -> int:
    docs = _read(args)
    if docs is None:
        return EXIT_INVALID
    failed = checked = 0
    for doc in docs:
        where = shown(f"{doc.source}:{doc.line}: {doc.kind}/{doc.name or '(no name)'}")
        model = MODELS.get(doc.kind)
        api_version = str(doc.body.get("apiVersion") or "")
        if model is None:
            if api_version.startswith(f"{c.GROUP}/"):
                failed += 1
                known = ", ".join(MODELS)
                print(f"{where}: unknown kind in {shown(api_version)} ({known})", file=sys.stderr)
            else:
                print(f"{where}: skipped (not a {c.GROUP} resource)")
            continue
        checked += 1
        found = problems(doc, model)
        if found:
            failed += 1
            print(f"{where}: invalid", file=sys.stderr)
            for line in found:
                print(f"  {line}", file=sys.stderr)
        else:
            print(f"{where}: valid")
    if not checked and not failed:
        error(f"no {' or '.join(MODELS)} in {', '.join(str(f) for f in args.file)}")
        return EXIT_INVALID
    return EXIT_INVALID if failed else 0


def _urls(items: list[str] | None) -> dict[str, str] | None:
    urls = {}
    for item in items or []:
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            error(f"--url {item}: expected MODEL=URL, e.g. --url qwen=http://127.0.0.1:8000/v1")
            return None
        urls[name] = url
    return urls


def _pvcs(items: list[str] | None) -> dict[str, Path] | None:
    pvcs = {}
    for item in items or []:
        claim, sep, folder = item.partition("=")
        if not sep or not claim or not folder:
            error(f"--pvc {item}: expected CLAIM=DIR, e.g. --pvc datasets=/srv/data")
            return None
        pvcs[claim] = Path(folder)
    return pvcs


def cmd_run(args: argparse.Namespace) -> int:
    from modeleval.localrun import LocalObjects, LocalRunError, LocalRunStopped, run_task_locally
    from modeleval.redact import mask_streams

    mask_streams()  # the Secret values exported for the run never reach the terminal
    urls, pvcs = _urls(args.url), _pvcs(args.pvc)
    docs = _read(args)
    if docs is None or urls is None or pvcs is None:
        return EXIT_USAGE
    tasks = [doc for doc in docs if doc.kind == c.EVAL_TASK_KIND]
    if not tasks:
        error(f"no EvalTask in {', '.join(str(f) for f in args.file)}")
        return EXIT_USAGE
    for doc in tasks:
        found = problems(doc, EvalTask)
        if found:
            print(shown(f"{doc.source}:{doc.line}: EvalTask/{doc.name}: invalid"), file=sys.stderr)
            for line in found:
                print(f"  {line}", file=sys.stderr)
            return EXIT_INVALID
    names = [doc.name or f"task-{index}" for index, doc in enumerate(tasks, start=1)]
    if len(set(names)) != len(names):
        error("several EvalTasks with the same name: give each its own metadata.name")
        return EXIT_USAGE
    # The other documents (ConfigMaps, Secrets) stand for what the cluster would hold.
    objects = LocalObjects.from_documents([doc.body for doc in docs], pvc_dirs=pvcs)
    summaries: dict[str, Any] = {}
    for doc, name in zip(tasks, names, strict=True):
        out = args.out if len(tasks) == 1 else args.out / name
        try:
            summaries[name] = run_task_locally(
                doc.body,
                out_dir=out,
                urls=urls,
                progress=not args.quiet,
                objects=objects,
                dataset=args.dataset,
            )
        except LocalRunStopped as exc:
            error(str(exc))
            return exc.exit_code
        except LocalRunError as exc:
            error(f"{name}: {exc}" if len(tasks) > 1 else str(exc))
            return EXIT_INVALID
        except KeyboardInterrupt:
            error(f"interrupted; the answers finished so far are kept in {out}")
            return 130
    if not args.json and all("performance" in s for s in summaries.values()):
        for name, summary in summaries.items():
            if len(summaries) > 1:
                print(f"{name}:")
            print(performance_table(summary["performance"]))
            if summary.get("report"):
                print(f"report: {summary['report']}")
        return 0
    result = next(iter(summaries.values())) if len(tasks) == 1 else summaries
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


PERF_COLUMNS = (
    ("MODEL", None),
    ("PARALLEL", "parallel"),
    ("OK", None),
    ("REQ/S", "requestsPerSecond"),
    ("OUT TOK/S", "outputTokensPerSecond"),
    ("TTFT P50", ("ttftMs", "p50")),
    ("TTFT P90", ("ttftMs", "p90")),
    ("ITL P50", ("interTokenLatencyMs", "p50")),
    ("LATENCY P50", ("latencyMs", "p50")),
    ("LATENCY P90", ("latencyMs", "p90")),
)
"""The columns of a performance run's table (times in ms)."""


def _cell(level: dict[str, Any], key: Any) -> str:
    value = level.get(key[0]) if isinstance(key, tuple) else level.get(key)
    if isinstance(key, tuple):
        value = (value or {}).get(key[1])
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def performance_table(performance: dict[str, Any]) -> str:
    """``performance.json`` as a table: one row per model and concurrency level."""
    rows = [[name for name, _ in PERF_COLUMNS]]
    for model, levels in (performance.get("models") or {}).items():
        for level in levels:
            ok = f"{level.get('succeeded', 0)}/{level.get('requests', 0)}"
            cells = [_cell(level, key) for _, key in PERF_COLUMNS]
            cells[0], cells[2] = model, ok
            rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(PERF_COLUMNS))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


DEMO_NEEDS = (
    "modeleval demo needs the test kit (API emulator, workload executor, mock model server), "
    "which is not installed: pip install 'modeleval[demo]' (from a checkout: "
    "pip install ./testkit)"
)


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        from modeleval_testkit.demo import run_demo
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("modeleval_testkit"):
            raise
        print(DEMO_NEEDS, file=sys.stderr)
        return 2
    return run_demo(
        work_dir=args.work_dir,
        timeout=args.timeout,
        samples=args.samples,
        console=args.console,
        serve=args.serve,
    )


def cmd_results(args: argparse.Namespace) -> int:
    from modeleval import kube

    task = kube.get_custom(c.EVAL_TASK_PLURAL, args.namespace, args.name)
    if task is None:
        print(f"evaltask {args.namespace}/{args.name} not found", file=sys.stderr)
        return 1
    status = task.get("status") or {}
    if args.json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
        return 0
    print(
        f"{args.namespace}/{args.name}: {status.get('state', 'Unknown')}"
        f"  totalScore={status.get('totalScore')}  {status.get('message') or ''}".rstrip()
    )
    scores = status.get("scores") or {}
    for metric, value in sorted((scores.get("metrics") or {}).items()):
        print(f"  {metric:<16} {value:8.2f}")
    benchmark = scores.get("benchmark")
    if benchmark:
        print(
            f"  {benchmark.get('name')} ({benchmark.get('mode')}, {benchmark.get('fewShot')}-shot, "
            f"{benchmark.get('reference')}): {benchmark.get('metric')} per model"
        )
        for model in scores.get("perModel") or []:
            print(f"  {model.get('model')}: {model.get('totalScore')}  macro {model.get('macro')}")
            for group in (model.get("categories") or []) + (model.get("subsets") or []):
                value = (group.get("scores") or {}).get(benchmark.get("metric"))
                print(f"    {group.get('name'):<40} {value:8.2f}  ({group.get('items')} items)")
    gsb = status.get("gsb")
    if gsb:
        print(
            f"  GSB good={gsb.get('good')} same={gsb.get('same')} bad={gsb.get('bad')} "
            f"net={gsb.get('netScore')}"
        )
    for result in status.get("inferenceResults") or []:
        print(f"  results[{result.get('model')}]: {result.get('location')}")
    if status.get("resultsLocation"):
        print(f"  report: {status['resultsLocation']}/report.html")
    return 0 if status.get("state") == "Succeeded" else 3


def cmd_benchmarks(args: argparse.Namespace) -> int:
    import os

    from modeleval.benchmarks import BENCHMARKS, DataError

    if args.action == "list":
        for b in BENCHMARKS.values():
            modes = ", ".join(
                f"{mode}{' (default)' if mode == b.default_mode else ''}: "
                f"{v.fewshot.default}-shot, {v.reference}"
                for mode, v in b.variants.items()
            )
            print(f"{b.name:<14} {len(b.subsets):>3} subsets  {b.data.repo}  {modes}")
        return 0
    from modeleval.runner import benchmark_mirror

    if args.action == "verify":
        checked = benchmark_mirror.verify(args.dir, args.name or None, args.subset)
        for c in checked:
            state = f"{c.rows} rows" if c.error is None else f"ERROR {c.error}"
            print(f"{c.benchmark} {c.subset}/{c.split}: {state}")
        bad = [c for c in checked if c.error is not None]
        print(f"{len(checked)} splits read, {len(bad)} failed")
        return 1 if bad or not checked else 0
    token = os.environ.get(args.token_env) if args.token_env else None
    try:
        done = benchmark_mirror.mirror(
            args.name,
            args.dir,
            endpoint=args.endpoint,
            token=token,
            subsets=args.subset,
            revision=args.revision,
        )
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for m in done:
        print(f"{m.benchmark}: {m.files} files, {m.bytes / 1e6:.1f} MB in {args.dir}")
    checked = benchmark_mirror.verify(args.dir, args.name, args.subset)
    bad = [c for c in checked if c.error is not None]
    for c in bad:
        print(f"{c.benchmark} {c.subset}/{c.split}: {c.error}", file=sys.stderr)
    return 1 if bad else 0


CONSOLE_NEEDS = (
    "modeleval console needs the console's dependencies (FastAPI, SQLAlchemy, Alembic, "
    "uvicorn): pip install 'modeleval[console]'"
)


def cmd_console(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401  (fail here, with advice, when the extra is missing)

        from modeleval.console.server import serve, settings_from_args
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.startswith("modeleval"):
            raise
        print(f"{CONSOLE_NEEDS} ({exc.name} is missing)", file=sys.stderr)
        return 2
    return serve(settings_from_args(host=args.host, port=args.port, database=args.database))


def cmd_annotations(args: argparse.Namespace) -> int:
    from modeleval.console.client import ConsoleClient, ConsoleClientError

    if not args.console:
        print("--console URL (or MODELEVAL_CONSOLE_URL) is required", file=sys.stderr)
        return 2
    try:
        with ConsoleClient(args.console, args.token) as client:
            if args.action == "export":
                rows = client.export_csv(args.namespace, args.name, args.file)
                print(f"wrote {rows} rows (one per item and model) to {args.file}")
                return 0
            result = client.import_csv(args.namespace, args.name, args.file)
            print(
                f"imported: {result['created']} new, {result['updated']} replaced; "
                f"{result['annotated']} of {result['items']} items annotated"
            )
            if args.complete:
                client.complete(args.namespace, args.name)
                print(f"{args.namespace}/{args.name}: annotation marked complete")
    except ConsoleClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--file",
        type=Path,
        action="append",
        required=True,
        help="a file, a folder of .yaml/.yml/.json files, or - (stdin); repeatable",
    )
    parser.add_argument(
        "-R", "--recursive", action="store_true", help="also the folders inside a folder"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modeleval", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"modeleval {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    crds = sub.add_parser("crds", help="print the CRDs, or apply them with kubectl")
    crds.add_argument("--apply", action="store_true", help="pipe them to `kubectl apply -f -`")
    crds.set_defaults(func=cmd_crds)

    validate = sub.add_parser("validate", help="check resources against the API models")
    _file_arguments(validate)
    validate.set_defaults(func=cmd_validate)

    run = sub.add_parser("run", help="run EvalTasks locally, no cluster")
    _file_arguments(run)
    run.add_argument("--dataset", type=Path, help="a local dataset file (overrides spec.dataset)")
    run.add_argument(
        "--pvc",
        action="append",
        metavar="CLAIM=DIR",
        help="a local directory standing for a PVC the task reads (e.g. its dataset)",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="results directory (with several tasks: one folder per task in it)",
    )
    run.add_argument(
        "--url",
        action="append",
        metavar="MODEL=URL",
        help="base URL for a model that uses serviceGroupRef",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--json", action="store_true", help="print the summary as JSON (performance tasks too)"
    )
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="run the whole stack locally with the samples")
    demo.add_argument(
        "--work-dir",
        type=Path,
        default=Path("demo-output"),
        help="where the cluster state, logs and reports go",
    )
    demo.add_argument("--timeout", type=float, default=300, help="seconds to wait for the tasks")
    demo.add_argument(
        "--samples", type=Path, default=None, help="folder of sample files (default: bundled)"
    )
    demo.add_argument(
        "--console",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the web console and the manual-mode sample (default: yes)",
    )
    demo.add_argument(
        "--serve",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep serving the console until Ctrl-C (default: when run in a terminal)",
    )
    demo.set_defaults(func=cmd_demo)

    results = sub.add_parser("results", help="show a finished task's scores from a cluster")
    results.add_argument("name")
    results.add_argument("-n", "--namespace", default="default")
    results.add_argument("--json", action="store_true", help="print the whole status as JSON")
    results.set_defaults(func=cmd_results)

    bench = sub.add_parser(
        "benchmarks", help="list the benchmarks; mirror their files for air-gapped clusters"
    )
    actions = bench.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the catalogue: names, subsets, modes, references")
    for action, text in (
        ("mirror", "download benchmarks' Hub files into a mirror folder, then verify it"),
        ("verify", "read every split of a mirror back (default: every benchmark in it)"),
    ):
        command = actions.add_parser(action, help=text)
        command.add_argument("name", nargs="+" if action == "mirror" else "*")
        command.add_argument(
            "--dir", type=Path, default=Path("benchmark-mirror"), help="the mirror folder"
        )
        command.add_argument("--subset", action="append", help="only these subsets (repeatable)")
    mirror = actions.choices["mirror"]
    mirror.add_argument(
        "--endpoint", default="https://huggingface.co", help="Hub URL (or a Hub mirror's)"
    )
    mirror.add_argument("--revision", help="branch, tag or commit (default: the benchmark's)")
    mirror.add_argument("--token-env", metavar="VAR", help="environment variable with a Hub token")
    bench.set_defaults(func=cmd_benchmarks)

    console = sub.add_parser("console", help="serve the web console (results, manual evaluation)")
    console.add_argument("--host", help="listen address (default $MODELEVAL_CONSOLE_HOST, 0.0.0.0)")
    console.add_argument("--port", type=int, help="port (default $MODELEVAL_CONSOLE_PORT, 8000)")
    console.add_argument(
        "--database", help="SQLAlchemy URL (default $MODELEVAL_CONSOLE_DATABASE_URL or SQLite)"
    )
    console.set_defaults(func=cmd_console)

    annotations = sub.add_parser(
        "annotations", help="export a manual-mode task's items as CSV, import the scores"
    )
    annotations.add_argument("action", choices=["export", "import"])
    annotations.add_argument("name", help="EvalTask name")
    annotations.add_argument("file", type=Path, help="CSV to write (export) or read (import)")
    annotations.add_argument("-n", "--namespace", default="default")
    annotations.add_argument(
        "--console",
        default=os.environ.get("MODELEVAL_CONSOLE_URL"),
        help="console URL (default $MODELEVAL_CONSOLE_URL)",
    )
    annotations.add_argument(
        "--token", help="bearer token (default $MODELEVAL_CONSOLE_TOKEN, then the kubeconfig's)"
    )
    annotations.add_argument(
        "--complete", action="store_true", help="after importing, mark the annotation complete"
    )
    annotations.set_defaults(func=cmd_annotations)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


def console_main() -> None:
    """The ``modeleval`` command. A finished ``run`` ends as the runner's pods do, without the
    interpreter's teardown: its files are closed and its summary printed, and freeing every
    object one by one would only add about 0.1 s to a run a user waits for."""
    args = build_parser().parse_args()
    code = int(args.func(args))
    if args.func is cmd_run:
        from modeleval.runner.exits import exit_now

        exit_now(code)
    raise SystemExit(code)


if __name__ == "__main__":
    console_main()
