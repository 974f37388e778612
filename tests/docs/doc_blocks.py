"""The code blocks of README.md and docs/*.md, and the ``synergy`` command lines in them.

A fence's marker is the line just above it (blank lines aside):
``<!-- skip-test: REASON -->`` skips the block, ``<!-- test -->`` runs a console block for real.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,})(?P<lang>[\w+-]*)\s*$")
SKIP = re.compile(r"^\s*<!--\s*skip-test:\s*(?P<reason>.+?)\s*-->\s*$")
RUN = re.compile(r"^\s*<!--\s*test\s*-->\s*$")
SHELL_LANGS = {"console", "bash", "sh", "shell"}
OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "2>&1", "&>"}
#: A shell prompt: ``$ ``, or a host's name before it (``board$ ``).
PROMPT = re.compile(r"^(?:[\w.-]+)?\$ ")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a document."""

    doc: Path
    line: int  #: 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None  #: the reason given by ``skip-test``, or None
    run: bool  #: marked ``<!-- test -->``

    @property
    def name(self) -> str:
        return f"{self.doc.name}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """Every fenced block of ``doc``, in order (indented fences, as in lists, included)."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, ticks = match["indent"], match["ticks"]
        end = i + 1
        while end < len(lines) and lines[end].strip() != ticks:
            end += 1
        body = [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines[i + 1 : end]]
        marker = _marker(lines, i)
        skip = SKIP.match(marker)
        found.append(
            Block(
                doc=doc,
                line=i + 1,
                lang=match["lang"].lower(),
                code="\n".join(body) + "\n",
                skip=skip["reason"] if skip else None,
                run=RUN.match(marker) is not None,
            )
        )
        i = end + 1
    return found


def _marker(lines: list[str], fence: int) -> str:
    j = fence - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    return lines[j] if j >= 0 else ""


def command_lines(block: Block) -> list[str]:
    """The shell command lines of a block: its prompted lines if any, else (shell blocks) every non-comment line.

    Continuations (a trailing backslash) are joined; output lines of prompted blocks are left out.
    """
    raw = block.code.splitlines()
    if block.lang not in SHELL_LANGS and not any(PROMPT.match(line) for line in raw):
        return []
    prompted = any(PROMPT.match(line) for line in raw)
    commands: list[str] = []
    pending = ""
    for line in raw:
        if pending:
            line = pending + line.strip()
            pending = ""
        elif prompted:
            prompt = PROMPT.match(line)
            if prompt is None:
                continue
            line = line[prompt.end() :]
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        if not _quotes_closed(line):
            pending = line + "\n"
            continue
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(line.strip())
    return commands


def _quotes_closed(line: str) -> bool:
    try:
        shlex.split(line, comments=True)
    except ValueError:
        return False
    return True


def synergy_argvs(command: str) -> list[list[str]]:
    """The argument vectors of every ``synergy …`` (or ``python -m synergy …``) command in a shell line."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    argvs: list[list[str]] = []
    segment: list[str] = []
    for token in [*lexer, ";"]:
        if token in OPERATORS or set(token) <= set(";&|<>"):
            argvs.extend(_synergy_argv(segment))
            segment = []
        else:
            segment.append(token)
    return argvs


def _synergy_argv(words: list[str]) -> list[list[str]]:
    while words and (ENV_ASSIGNMENT.match(words[0]) or words[0] in {"timeout", "sudo", "time", "exec"}):
        words = words[1:]
        if words and words[0][:1].isdigit():  # timeout's duration
            words = words[1:]
    if words and re.fullmatch(r"(?:.*/)?python3?(?:\.\d+)?", words[0]):
        if words[1:3] == ["-m", "synergy"]:
            return [words[3:]]
        return []
    if words and Path(words[0]).name == "synergy":
        return [words[1:]]
    return []


def is_synopsis(argv: list[str]) -> bool:
    """Whether a command line is a usage synopsis (``synergy measure MODEL [--runs N]``), not a command."""
    return any(word.startswith("[") or word.endswith("]") or word == "..." for word in argv)


def synopsis_command(argv: list[str]) -> tuple[list[str], set[str]]:
    """The subcommand path of a synopsis and every long option it names."""
    path: list[str] = []
    for word in argv:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        path.append(word)
    options = {m for word in argv for m in re.findall(r"--[a-z][\w-]*", word)}
    return path, options
