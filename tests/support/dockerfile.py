"""A small Dockerfile reader for structural checks: instructions, ARG substitution, stages."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    line: int


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def read_instructions(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    result: list[Instruction] = []
    pending = ""
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = pending + line
        pending = ""
        keyword, _, value = text.partition(" ")
        result.append(Instruction(keyword.upper(), value.strip(), start))
    return result


def substitute(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], m[0]), text)


def stages(instructions: list[Instruction]) -> list[Stage]:
    """Build stages; ARGs declared before the first FROM are substituted into FROM lines."""
    global_args: dict[str, str] = {}
    result: list[Stage] = []
    for inst in instructions:
        if inst.keyword == "ARG" and not result:
            name, _, default = inst.value.partition("=")
            global_args[name] = default
        elif inst.keyword == "FROM":
            words = substitute(inst.value, global_args).split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            result.append(Stage(image=words[0], name=name))
        elif result:
            result[-1].instructions.append(inst)
    return result


def exec_form(value: str) -> list[str]:
    """Parse a JSON (exec) form; raises ValueError on the shell form."""
    parsed = json.loads(value)
    if not isinstance(parsed, list) or not all(isinstance(w, str) for w in parsed):
        raise ValueError(f"not an exec form: {value}")
    return parsed


def env_names(inst: Instruction) -> list[str]:
    """Names set by an ENV or ARG instruction (``A=1 B=2``, ``A 1`` or ``A``)."""
    if "=" not in inst.value.split(" ", 1)[0]:
        return [inst.value.split()[0]]
    return re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", inst.value)


def dockerignored(relpath: str, patterns: list[str]) -> bool:
    """Whether the build context leaves ``relpath`` out (last matching pattern wins)."""
    ignored = False
    parts = relpath.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatch(c, glob) for c in candidates):
            ignored = not negate
    return ignored


def read_dockerignore(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
