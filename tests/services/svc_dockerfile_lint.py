"""The project-specific checks of services/Dockerfile for one artifact's build args, i.e. what checkov's
dockerfile framework cannot know: it does not look into the build context. The generic checks (base tag,
USER, HEALTHCHECK, ADD, ...) are checkov's (test_svc_dockerfiles.py runs it).

Parsing and ARG/ENV substitution come from dockerfile-parse, the parser checkov itself uses.
"""
from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import WordSplitter


def artifact_problems(dockerfile: Path, context: Path, build_args: dict[str, str]) -> list[str]:
    """Every build arg is declared; every COPY source (args substituted) exists in the context, is not
    excluded by .dockerignore and, if it is a requirements file, is pinned with hashes; the package the
    entry point runs (ENV SERVICE_PACKAGE) was copied onto PYTHONPATH with a __main__.py."""
    parser = DockerfileParser(str(dockerfile), build_args=build_args)
    problems = [f"build arg {name} is not declared by an ARG in {dockerfile.name}"
                for name in sorted(set(build_args) - _declared_args(parser))]
    patterns = dockerignore_patterns(context)
    copied: dict[str, Path] = {}  # image path -> context path
    for instruction, ctx in zip(parser.structure, parser.context_structure):
        if instruction["instruction"] != "COPY":
            continue
        words = list(WordSplitter(instruction["value"], args=ctx.args, envs=ctx.envs).split())
        if any(word.startswith("--from=") for word in words):
            continue
        *sources, dest = [word for word in words if not word.startswith("--")]
        for source in sources:
            path = context / source.lstrip("/")  # Docker resolves every source inside the context
            where = f"line {instruction['startline'] + 1}: COPY source {source}"
            if not path.exists():
                problems.append(f"{where} does not exist in the build context")
                continue
            excluded = [p for p in (path, *sorted(path.rglob("*.py"))) if _ignored(p.relative_to(context), patterns)]
            if excluded:
                problems.append(f"{where}: {excluded[0].relative_to(context)} is excluded by .dockerignore")
            copied[dest.rstrip("/")] = path
            if path.suffix == ".txt":
                problems.extend(requirement_problems(path))
    envs = parser.envs  # the final stage's
    module, pythonpath = envs.get("SERVICE_PACKAGE", ""), envs.get("PYTHONPATH", "")
    source = copied.get(f"{pythonpath.rstrip('/')}/{module}") if module else None
    if source is None:
        problems.append(f"SERVICE_PACKAGE={module!r} is not a package copied into PYTHONPATH={pythonpath!r}")
    elif not (source / "__main__.py").is_file():
        problems.append(f"{source.relative_to(context)} has no __main__.py: python -m {module} would fail")
    return problems


def _declared_args(parser: DockerfileParser) -> set[str]:
    return {re.split(r"[=\s]", instruction["value"].strip(), maxsplit=1)[0]
            for instruction in parser.structure if instruction["instruction"] == "ARG"}


def dockerignore_patterns(context: Path) -> list[str]:
    path = context / ".dockerignore"
    lines = path.read_text().splitlines() if path.exists() else []
    # `!` re-inclusions are ignored: that can only over-report, never hide an exclusion
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith(("#", "!"))]


def _ignored(relative: Path, patterns: list[str]) -> bool:
    """Docker semantics, simplified: a pattern matches a path or one of its parent folders."""
    parts = relative.parts
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in (p.strip("/") for p in patterns):
        for candidate in candidates:
            if fnmatch.fnmatchcase(candidate, pattern) or (pattern.startswith("**/") and (
                    fnmatch.fnmatchcase(candidate.rsplit("/", 1)[-1], pattern[3:])
                    or fnmatch.fnmatchcase(candidate, pattern[3:]))):
                return True
    return False


def requirement_problems(path: Path) -> list[str]:
    """Every requirement pinned with == and carrying at least one --hash (pip's hash-checking mode)."""
    problems, name = [], f"{path.parent.name}/{path.name}"
    for line in path.read_text().replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec = line.split()[0]
        if "==" not in spec:
            problems.append(f"{name}: {spec} is not pinned with ==")
        if "--hash=sha256:" not in line:
            problems.append(f"{name}: {spec} has no --hash")
    return problems


def pin_problems(pipfile: Path, requirements: Path, package: str = "prometheus-client") -> list[str]:
    """The image's pin of `package` equals the repository Pipfile's (the tests run against that one)."""
    pinned = tomllib.loads(pipfile.read_text())["dev-packages"][package].lstrip("=")
    if re.search(rf"^{re.escape(package)}=={re.escape(pinned)}\s", requirements.read_text(), re.M):
        return []
    return [f"{requirements.name} does not pin {package}=={pinned} like {pipfile.name}"]
