"""`modeleval validate` / `run` on hostile or broken input: a clear message naming the file,
line or field, a non-zero exit, no traceback. ``-f`` takes files, folders and ``-``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from modeleval.cli import main
from tests.support.paths import REPO
from tests.support.tasks import local_task


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_missing_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, _, err = run(capsys, command, "-f", str(tmp_path / "nope.yaml"))
    assert code != 0
    assert err == f"error: {tmp_path / 'nope.yaml'}: no such file or folder\n"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("kind: EvalTask\nspec: [unclosed\n", ":3: invalid YAML: "),
        ("a: b\n  c: d\n", ":2: invalid YAML: mapping values are not allowed here"),
        (
            b"kind: EvalTask\nmetadata: {name: \xff\xfe}\n",
            ":2: not UTF-8 text (byte 0xff at column 18)",
        ),
        ("", ": no objects in this file"),
        ("---\n---\n", ": no objects in this file"),
        ("- kind: EvalTask\n", ":1: document 1 is a list, not a Kubernetes object"),
        ("just text\n", ":1: document 1 is a str, not a Kubernetes object"),
        ("apiVersion: v1\nmetadata: {}\n", ":1: document 1 has no kind"),
        ("? [a, b]\n: c\n", ":1: invalid YAML: found unhashable key"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_broken_files_are_refused_with_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    content: str | bytes,
    says: str,
) -> None:
    path = write(tmp_path / "bad.yaml", content)
    code, _, err = run(capsys, command, "-f", str(path))
    assert code != 0
    assert err.startswith(f"error: {path}{says}"), err


def test_unknown_kinds_of_our_group_fail_others_are_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = write(tmp_path / "a.yaml", "apiVersion: modeleval.io/v1alpha1\nkind: EvalTest\n")
    code, _, err = run(capsys, "validate", "-f", str(ours))
    assert code == 1
    assert "EvalTest/(no name): unknown kind in modeleval.io/v1alpha1" in err
    theirs = write(tmp_path / "b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    code, out, err = run(capsys, "validate", "-f", str(theirs))
    assert code == 1  # nothing of ours to check is an error, not a silent success
    assert "ConfigMap/c: skipped" in out
    assert "error: no EvalTask or ModelEvalServiceGroup in" in err


def test_an_invalid_field_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = local_task("http://h/v1")
    task["spec"]["inference"]["client"]["parallel"] = 0
    path = write(tmp_path / "t.yaml", "# a comment\n" + yaml.safe_dump(task, sort_keys=False))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "parallel" in text)
    code, _, err = run(capsys, "validate", "-f", str(path))
    assert code == 1
    assert f"{path}:{line}: spec.inference.client.parallel: " in err
    code, _, err = run(capsys, "run", "-f", str(path))
    assert code == 1
    assert f"{path}:{line}: spec.inference.client.parallel: " in err


def test_folders_several_files_and_stdin_like_kubectl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "tasks"
    (folder / "nested").mkdir(parents=True)
    for name in ("a", "b"):
        doc = local_task("http://h/v1") | {"metadata": {"name": name}}
        write(folder / f"{name}.yaml", yaml.safe_dump(doc))
    write(folder / "notes.txt", "not a manifest")
    write(folder / "nested" / "c.yml", yaml.safe_dump(local_task("http://h/v1")))
    code, out, _ = run(capsys, "validate", "-f", str(folder))
    assert code == 0 and out.count(": valid") == 2
    code, out, _ = run(capsys, "validate", "-f", str(folder), "-R")
    assert code == 0 and out.count(": valid") == 3
    code, out, _ = run(capsys, "validate", "-f", str(folder / "a.yaml"), "-f", str(folder))
    assert code == 0 and out.count(": valid") == 3
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(yaml.safe_dump(doc).encode())))
    code, out, _ = run(capsys, "validate", "-f", "-")
    assert code == 0 and out.startswith("-:1: EvalTask/b: valid")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "validate", "-f", str(empty))
    assert code == 1 and "no .yaml, .yml, .json files in this folder" in err


def test_run_refuses_bad_urls_and_files_without_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "t.yaml", yaml.safe_dump(local_task("http://h/v1")))
    code, _, err = run(capsys, "run", "-f", str(path), "--url", "no-equals-sign")
    assert code == 2 and "--url no-equals-sign: expected MODEL=URL" in err
    other = write(tmp_path / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    code, _, err = run(capsys, "run", "-f", str(other))
    assert code == 2 and f"error: no EvalTask in {other}" in err


def test_control_characters_in_a_file_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = local_task("http://h/v1")
    task["metadata"]["name"] = "x\x1b[2J\rvalid"
    task["spec"]["inference"]["client"]["parallel"] = 0
    path = write(tmp_path / "t.yaml", yaml.safe_dump(task))
    code, out, err = run(capsys, "validate", "-f", str(path))
    assert code == 1
    assert "\x1b" not in out + err and "\r" not in out + err
    assert "EvalTask/x?[2J?valid: invalid" in err


def test_the_troubleshooting_guide_quotes_what_the_command_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    cases: list[tuple[str | bytes | None, str]] = [
        (None, "error: t.yaml: no such file or folder"),
        (b"kind: EvalTask\nmetadata: {name: \xff\xfe}\n", "error: t.yaml:2: not UTF-8 text"),
        ("", "error: t.yaml: no objects in this file"),
        ("- kind: EvalTask\n", "error: t.yaml:1: document 1 is a list, not a Kubernetes object"),
        ("apiVersion: modeleval.io/v1alpha1\nkind: EvalTest\n", "t.yaml:1: EvalTest/(no name)"),
        ("apiVersion: v1\nkind: ConfigMap\n", "error: no EvalTask or ModelEvalServiceGroup in"),
    ]
    for content, start in cases:
        path = Path("t.yaml")
        path.unlink(missing_ok=True)
        if content is not None:
            write(path, content)
        _, _, err = run(capsys, "validate", "-f", "t.yaml")
        line = next(text for text in err.splitlines() if text.startswith(start))
        assert f"`{line}`" in doc, line
