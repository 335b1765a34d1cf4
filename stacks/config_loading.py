"""Generic configuration machinery: strict YAML reading, field types, and pydantic errors turned into one
line each for the person who edits the file. Nothing here knows what an environment is; the schema in
`stacks/config.py` builds on it."""
from __future__ import annotations

import datetime
import difflib
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError


class ConfigError(Exception):
    """A configuration problem, already phrased for the person who edits the file."""


class StrictModel(BaseModel):
    # Unknown keys are typos until proven otherwise; values never change after loading.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Model = TypeVar("Model", bound=BaseModel)


# --- field types -------------------------------------------------------------------------------------------


def pattern(regex: str, what: str) -> AfterValidator:
    """A string validator whose message says what is expected, in words and as the pattern."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"expected {what} (pattern {regex})")
        return value

    return AfterValidator(check)


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"expected an IPv4 network in CIDR form with host bits zero, e.g. 10.10.0.0/20 ({exc})")
    return str(network)


Cidr = Annotated[str, AfterValidator(_cidr)]

_RFC3339_UTC = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _rfc3339(value: str) -> str:
    if not _RFC3339_UTC.match(value):
        raise ValueError("expected an RFC 3339 UTC timestamp such as 2026-01-03T02:00:00Z")
    try:
        parse_time(value)
    except ValueError as exc:
        raise ValueError(f"expected an RFC 3339 UTC timestamp such as 2026-01-03T02:00:00Z ({exc})")
    return value


Timestamp = Annotated[str, AfterValidator(_rfc3339)]


# --- reading -----------------------------------------------------------------------------------------------


def _unique_key_loader() -> type[yaml.SafeLoader]:
    """A SafeLoader that refuses duplicate keys, which plain YAML silently resolves to the last one, and
    anchors and aliases: expanded without limit, a few KB of nested aliases exhaust memory, and a config
    that says each value where it applies is easier to review."""

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                kind, name = ("alias", f"*{event.anchor}") if isinstance(event, yaml.AliasEvent) else ("anchor", f"&{event.anchor}")
                raise yaml.composer.ComposerError(
                    None, None, f"YAML {kind} {name} is not supported; expected each value written out", event.start_mark
                )
            return super().compose_node(parent, index)

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Loader


_LOADER = _unique_key_loader()


def read_yaml(path: Path) -> Any:
    """The parsed document; any read or syntax problem becomes one ConfigError line naming the file."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}: line {line}: byte {exc.object[exc.start]:#04x} is not UTF-8; expected UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}:{where}: invalid YAML: {problem}") from None


def data_files(config_dir: Path) -> list[Path]:
    """The `*.yaml` files of a directory that describe one item each, sorted by name. Files starting with
    `_` describe the set (e.g. `_differences.yaml`)."""
    return sorted(path for path in config_dir.glob("*.yaml") if not path.name.startswith("_"))


# --- validation --------------------------------------------------------------------------------------------


def _freeze(value: Any) -> Any:
    """YAML lists become tuples: models are immutable and strict mode does not coerce lists."""
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    if isinstance(value, dict):
        return {key: _freeze(item) for key, item in value.items()}
    return value


def _field_path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _expected_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """Allowed keys at the place an unknown key was found, for the 'did you mean' hint."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _describe(model: type[BaseModel], error: dict, source: str) -> str:
    loc = tuple(error["loc"])
    field = _field_path(loc)
    value = error.get("input")
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _expected_fields(model, loc)
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"{source}: {field}: unknown field; expected one of: {', '.join(allowed)}{suggestion}"
    if kind == "missing":
        return f"{source}: {field}: required field is missing"
    message = error["msg"].removeprefix("Value error, ")
    if isinstance(value, dict):
        # A model-level rule: its message starts with the field it is about, relative to that model.
        parent = "" if not loc else field + "."
        return f"{source}: {parent}{message}"
    return f"{source}: {field}: got {value!r}; {message}{_yaml_typing_hint(kind, value)}"


def _yaml_typing_hint(kind: str, value: Any) -> str:
    """YAML 1.1 turns unquoted `1.30` into the float 1.3, `2026-01-03` into a date and `on` into True: where a
    string was expected, say so, because the file shows what the author meant and the message would not."""
    if kind != "string_type" or isinstance(value, str):
        return ""
    if isinstance(value, (datetime.date, datetime.datetime)):
        what = "a timestamp"
    elif isinstance(value, bool):
        what = "a boolean"
    elif isinstance(value, (int, float)):
        what = "a number"
    else:
        return ""
    return f" (YAML read the unquoted value as {what}; quote it as written, e.g. \"1.30\")"


def _without_typo_echoes(model: type[BaseModel], errors: list[dict]) -> list[dict]:
    """A misspelt required key shows up twice (unknown + missing); keep only the 'unknown' line, whose
    'did you mean' already names the missing field."""
    misspelt = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            loc = tuple(error["loc"])
            allowed = _expected_fields(model, loc)
            for match in difflib.get_close_matches(str(loc[-1]), allowed, n=1):
                misspelt.add(loc[:-1] + (match,))
    return [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in misspelt)]


def validate(model: type[Model], data: Any, source: str) -> Model:
    """Already-parsed YAML as `model`; every problem becomes one line of a ConfigError naming `source`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): got {type(data).__name__}; expected a mapping of fields")
    try:
        return model.model_validate(_freeze(data))
    except ValidationError as exc:
        lines = [_describe(model, error, source) for error in _without_typo_echoes(model, exc.errors())]
        raise ConfigError(join_errors(lines)) from None


# Per file: one with many bad entries would otherwise print megabytes; the first ones show what to fix.
MAX_ERRORS_SHOWN = 50


def join_errors(lines: list[str]) -> str:
    """The first `MAX_ERRORS_SHOWN` lines, then how many more there are."""
    if len(lines) <= MAX_ERRORS_SHOWN:
        return "\n".join(lines)
    hidden = len(lines) - MAX_ERRORS_SHOWN
    return "\n".join(lines[:MAX_ERRORS_SHOWN] + [f"... and {hidden} more error{'s' if hidden > 1 else ''} not shown"])
