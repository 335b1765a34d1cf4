"""A small, dependency-free Dockerfile checker for the service images (no Docker engine needed).

It parses instructions (continuations and comments handled) and reports problems as strings, so a
test can assert an empty list for the real Dockerfiles and specific findings for a bad one.
"""
from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIALS)", re.I)
_VERSION_TAG = re.compile(r"\d")


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


def parse(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker too
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(p for p in pending if p)
        pending = []
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    if pending:
        raise ValueError("Dockerfile ends inside a line continuation")
    return instructions


def _flags_and_args(args: str) -> tuple[dict[str, str], list[str]]:
    flags, rest = {}, []
    for token in shlex.split(args):
        if token.startswith("--") and not rest:
            name, _, value = token[2:].partition("=")
            flags[name] = value
        else:
            rest.append(token)
    return flags, rest


def _exec_form(args: str) -> list[str]:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return []
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else []


def _env_pairs(args: str) -> dict[str, str]:
    tokens = shlex.split(args)
    if tokens and "=" not in tokens[0]:  # legacy form: ENV KEY value
        return {tokens[0]: " ".join(tokens[1:])}
    return dict(token.split("=", 1) for token in tokens if "=" in token)


def dockerignore_patterns(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#") and not line.strip().startswith("!")]


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.strip("/").split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        pattern = pattern.strip("/")
        for candidate in candidates:
            if fnmatch.fnmatch(candidate, pattern) or (pattern.startswith("**/") and (
                    fnmatch.fnmatch(candidate.rsplit("/", 1)[-1], pattern[3:]) or fnmatch.fnmatch(candidate, pattern[3:]))):
                return True
    return False


def requirement_problems(path: Path) -> list[str]:
    """Every requirement pinned with == and carrying at least one --hash."""
    problems = []
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec = line.split()[0]
        if "==" not in spec:
            problems.append(f"{path.name}: {spec} is not pinned with ==")
        if "--hash=sha256:" not in line:
            problems.append(f"{path.name}: {spec} has no --hash")
    return problems


def check(dockerfile: Path, context: Path) -> list[str]:
    instructions = parse(dockerfile.read_text())
    problems: list[str] = []
    stages: list[str] = []
    final_start = 0
    copied: dict[str, Path] = {}  # image path -> context path, for COPY from the build context
    final_paths: list[str] = []  # image paths the final stage receives (from earlier stages or the context)
    final_env: dict[str, str] = {}
    patterns = dockerignore_patterns(context)
    requirement_files: list[Path] = []

    for index, ins in enumerate(instructions):
        if ins.keyword == "FROM":
            flags, rest = _flags_and_args(ins.args)
            image = rest[0] if rest else ""
            if image not in stages:
                name, _, digest = image.partition("@")
                repo_tag = name.rsplit("/", 1)[-1]
                tag = repo_tag.partition(":")[2]
                if not digest and not tag:
                    problems.append(f"line {ins.line}: FROM {image} has no tag (implicitly latest)")
                elif tag == "latest" or (tag and not _VERSION_TAG.search(tag) and not digest):
                    problems.append(f"line {ins.line}: FROM {image} is not pinned to a version")
            if len(rest) >= 3 and rest[1].upper() == "AS":
                stages.append(rest[2])
            final_start = index
            final_env = {}
    if not instructions or instructions[0].keyword not in ("FROM", "ARG"):
        problems.append("the first instruction must be FROM")

    final = instructions[final_start:]
    for ins in instructions:
        if ins.keyword == "ADD":
            problems.append(f"line {ins.line}: use COPY, not ADD")
        if ins.keyword in ("ENV", "ARG"):
            for name in (_env_pairs(ins.args) if ins.keyword == "ENV" else [ins.args.split("=")[0]]):
                if _SECRET_NAME.search(name):
                    problems.append(f"line {ins.line}: {ins.keyword} {name} looks like a secret baked into the image")
        if ins.keyword == "COPY":
            flags, rest = _flags_and_args(ins.args)
            if len(rest) < 2:
                problems.append(f"line {ins.line}: COPY needs a source and a destination")
                continue
            sources, dest = rest[:-1], rest[-1]
            if "from" in flags:
                if ins in final:
                    final_paths.extend(sources)
                continue
            if ins in final:
                final_paths.append(dest)
            for source in sources:
                path = context / source
                if not path.exists():
                    problems.append(f"line {ins.line}: COPY source {source} does not exist in the build context")
                elif _ignored(source, patterns):
                    problems.append(f"line {ins.line}: COPY source {source} is excluded by .dockerignore")
                else:
                    target = dest.rstrip("/") + "/" + path.name if dest.endswith("/") else dest
                    copied[target] = path
                    if path.name.endswith(".txt"):
                        requirement_files.append(path)
        if ins.keyword == "RUN" and "pip install" in ins.args:
            if "--require-hashes" not in ins.args:
                problems.append(f"line {ins.line}: pip install without --require-hashes")
    for path in requirement_files:
        problems.extend(requirement_problems(path))

    for ins in final:
        if ins.keyword == "ENV":
            final_env.update(_env_pairs(ins.args))
    users = [ins for ins in final if ins.keyword == "USER"]
    if not users:
        problems.append("the final stage sets no USER (it would run as root)")
    else:
        user = users[-1].args.strip()
        match = re.fullmatch(r"(\d+)(?::(\d+))?", user)
        if not match:
            problems.append(f"USER {user} is not numeric uid[:gid]")
        elif int(match.group(1)) == 0 or (match.group(2) is not None and int(match.group(2)) == 0):
            problems.append(f"USER {user} is root")
    healthchecks = [ins for ins in final if ins.keyword == "HEALTHCHECK"]
    if not healthchecks or healthchecks[-1].args.strip().upper() == "NONE":
        problems.append("the final stage has no HEALTHCHECK")
    if final_env.get("PYTHONDONTWRITEBYTECODE") != "1":
        problems.append("PYTHONDONTWRITEBYTECODE=1 is not set in the final stage")
    exposed = [ins.args.split("/")[0].strip() for ins in final if ins.keyword == "EXPOSE"]
    if not exposed:
        problems.append("the final stage EXPOSEs no port")
    elif "PORT" in final_env and final_env["PORT"] not in exposed:
        problems.append(f"EXPOSE {exposed} does not include PORT={final_env['PORT']}")

    pythonpath = final_env.get("PYTHONPATH", "")
    entry = [ins for ins in final if ins.keyword in ("ENTRYPOINT", "CMD")]
    if not entry:
        problems.append("no ENTRYPOINT or CMD")
    modules = []
    for ins in entry + healthchecks:
        argv = _exec_form(ins.args.split("CMD", 1)[1].strip() if ins.keyword == "HEALTHCHECK" else ins.args)
        if ins.keyword != "HEALTHCHECK" and not argv:
            problems.append(f"line {ins.line}: {ins.keyword} is not in exec form (signals would go to a shell)")
        if "-m" in argv and argv.index("-m") + 1 < len(argv):
            modules.append((ins.line, argv[argv.index("-m") + 1]))
    for line, module in modules:
        problems.extend(_module_problems(line, module, pythonpath, copied, final_paths))
    return problems


def _module_problems(line: int, module: str, pythonpath: str, copied: dict[str, Path],
                     final_paths: list[str]) -> list[str]:
    top, *rest = module.split(".")
    for root in filter(None, pythonpath.split(":")):
        image_path = f"{root.rstrip('/')}/{top}"
        if image_path not in copied:
            continue
        if not any(image_path == p or image_path.startswith(p.rstrip("/") + "/") for p in final_paths):
            return [f"line {line}: {image_path} is built but not copied into the final stage"]
        target = copied[image_path].joinpath(*rest)
        if rest and target.with_suffix(".py").is_file():
            return []
        if (target / "__main__.py").is_file():
            return []
        return [f"line {line}: module {module} has no __main__.py / .py file in {copied[image_path]}"]
    return [f"line {line}: module {module} is not copied into PYTHONPATH={pythonpath or '(unset)'}"]
