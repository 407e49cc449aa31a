"""docker-compose.yml as Docker Compose sees it, without Docker.

Reads the `.env` file and the compose file the way Compose (compose-go) does and returns
the resolved model: YAML anchors, aliases and `<<` merge keys expanded by the YAML loader,
then every string value interpolated:

    $$                  a literal $
    $NAME, ${NAME}      the value, empty when unset
    ${NAME:-default}    default when unset OR empty      ${NAME-default}  when unset
    ${NAME:?message}    error when unset OR empty        ${NAME?message}  when unset
    ${NAME:+other}      other when set AND non-empty     ${NAME+other}    when set
    defaults, messages and alternatives may hold nested ${...} (compose-go supports it)

Keys are not interpolated (Compose does not either). Anything outside this grammar is an
error here rather than a guess, so a file this module accepts renders as Compose renders
it, and a file Compose would reject (a missing required variable) fails here too.

The `.env` grammar accepted: blank lines, `# comments`, `KEY=value` (optionally
`export KEY=value`), unquoted values without `$` (trailing ` # comment` stripped), and
'single' or "double" quoted values without `$` or backslashes. Variables from the process
environment are NOT used unless passed explicitly: the model is what the file alone gives.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


class ComposeError(Exception):
    """The compose file or .env would not render (Compose would refuse it too)."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parses a Compose `.env` file (the strict subset described above)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = ENV_LINE.match(line)
        if not match:
            raise ComposeError(f"{path}:{number}: not KEY=value: {raw!r}")
        key, value = match.groups()
        if value[:1] in ("'", '"'):
            quote = value[0]
            end = value.find(quote, 1)
            if end < 0:
                raise ComposeError(f"{path}:{number}: unterminated quote")
            rest = value[end + 1 :].strip()
            if rest and not rest.startswith("#"):
                raise ComposeError(f"{path}:{number}: text after the closing quote")
            value = value[1:end]
            if quote == '"' and "\\" in value:
                raise ComposeError(f"{path}:{number}: escapes are not supported here")
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        if "$" in value:
            raise ComposeError(
                f"{path}:{number}: {key} uses $ (Compose would interpolate it; keep .env literal)"
            )
        values[key] = value
    return values


def interpolate(text: str, variables: dict[str, str], where: str) -> str:
    """Compose interpolation of one string (see the module docs)."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "$":
            out.append(char)
            index += 1
            continue
        following = text[index + 1 : index + 2]
        if following == "$":
            out.append("$")
            index += 2
        elif following == "{":
            end = _closing_brace(text, index + 1, where)
            out.append(_expand(text[index + 2 : end], variables, where))
            index = end + 1
        else:
            match = NAME.match(text, index + 1)
            if not match:
                raise ComposeError(f"{where}: invalid interpolation format in {text!r}")
            out.append(variables.get(match.group(0), ""))
            index = match.end()
    return "".join(out)


def _closing_brace(text: str, open_index: int, where: str) -> int:
    depth = 0
    for index in range(open_index, len(text)):
        if text[index] == "{" and text[index - 1] == "$":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    raise ComposeError(f"{where}: unclosed ${{ in {text!r}")


def _expand(body: str, variables: dict[str, str], where: str) -> str:
    match = NAME.match(body)
    if not match:
        raise ComposeError(f"{where}: invalid interpolation ${{{body}}}")
    name = match.group(0)
    operator_and_word = body[match.end() :]
    is_set = name in variables
    value = variables.get(name, "")
    if operator_and_word == "":
        return value
    for operator in (":-", ":?", ":+", "-", "?", "+"):
        if operator_and_word.startswith(operator):
            word = operator_and_word[len(operator) :]
            break
    else:
        raise ComposeError(f"{where}: invalid interpolation ${{{body}}}")
    colon = operator.startswith(":")
    present = is_set and (value != "" or not colon)
    kind = operator[-1]
    if kind == "-":
        return value if present else interpolate(word, variables, where)
    if kind == "?":
        if present:
            return value
        message = interpolate(word, variables, where)
        raise ComposeError(f"{where}: required variable {name} is missing a value: {message}")
    return interpolate(word, variables, where) if present else ""


def _interpolate_tree(node: Any, variables: dict[str, str], where: str) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables, where)
    if isinstance(node, dict):
        return {
            key: _interpolate_tree(value, variables, f"{where}.{key}")
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [
            _interpolate_tree(value, variables, f"{where}[{index}]")
            for index, value in enumerate(node)
        ]
    return node


def _scalar_text(value: Any) -> str:
    """How Compose turns a YAML scalar in `environment:` into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Service:
    name: str
    raw: dict[str, Any]
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def depends_on(self) -> dict[str, str]:
        """Dependency -> condition (`service_started` for the short list form)."""
        declared = self.raw.get("depends_on") or {}
        if isinstance(declared, list):
            return {name: "service_started" for name in declared}
        return {
            name: (spec or {}).get("condition", "service_started")
            for name, spec in declared.items()
        }

    @property
    def profiles(self) -> list[str]:
        return list(self.raw.get("profiles") or [])


@dataclass
class Model:
    services: dict[str, Service]
    raw: dict[str, Any]
    variables: dict[str, str]

    def active_services(self, profiles: tuple[str, ...] = ()) -> list[Service]:
        """Services `docker compose up` starts with these profiles enabled."""
        return [
            service
            for service in self.services.values()
            if not service.profiles or set(service.profiles) & set(profiles)
        ]

    def start_order(self, profiles: tuple[str, ...] = ()) -> list[Service]:
        """Dependencies first (Compose's order); a cycle is an error."""
        active = {service.name: service for service in self.active_services(profiles)}
        order: list[Service] = []
        state: dict[str, str] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                raise ComposeError(f"dependency cycle: {' -> '.join(path + (name,))}")
            if name not in active:
                raise ComposeError(f"{path[-1]} depends on {name}, which is not started")
            state[name] = "visiting"
            for dependency in active[name].depends_on:
                visit(dependency, path + (name,))
            state[name] = "done"
            order.append(active[name])

        for name in active:
            visit(name, ())
        return order


def load(compose_file: Path, env_file: Path, extra: dict[str, str] | None = None) -> Model:
    """The resolved model of `compose_file` with the variables of `env_file` (plus `extra`,
    standing in for the shell environment, which wins over `.env` as in Compose)."""
    variables = read_env_file(env_file)
    variables.update(extra or {})
    document = yaml.safe_load(compose_file.read_text())
    if not isinstance(document, dict) or "services" not in document:
        raise ComposeError(f"{compose_file}: no services")
    resolved = _interpolate_tree(document, variables, compose_file.name)
    services: dict[str, Service] = {}
    for name, raw in resolved["services"].items():
        service = Service(name=name, raw=raw)
        service.environment = _environment(raw.get("environment"), variables, name)
        services[name] = service
    return Model(services=services, raw=resolved, variables=variables)


def _environment(declared: Any, variables: dict[str, str], service: str) -> dict[str, str]:
    environment: dict[str, str] = {}
    if declared is None:
        return environment
    if isinstance(declared, list):
        for item in declared:
            key, sep, value = str(item).partition("=")
            if sep:
                environment[key] = value
            elif key in variables:
                environment[key] = variables[key]
        return environment
    if isinstance(declared, dict):
        for key, value in declared.items():
            if value is None:
                # `KEY:` with no value passes the variable through when it is set.
                if key in variables:
                    environment[key] = variables[key]
            else:
                environment[key] = _scalar_text(value)
        return environment
    raise ComposeError(f"services.{service}.environment: neither a list nor a mapping")


def dockerfile_env(dockerfile: Path, build_args: dict[str, str] | None = None) -> dict[str, str]:
    """The `ENV` of a Dockerfile's final stage (what the image adds to every container).
    Only literal values and ${ARG} of the given build args are supported."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines()]
    last_from = max(index for index, line in enumerate(lines) if line.upper().startswith("FROM "))
    environment: dict[str, str] = {}
    for line in lines[last_from + 1 :]:
        if not line.upper().startswith("ENV "):
            continue
        for token in shlex.split(line[4:]):
            key, sep, value = token.partition("=")
            if not sep:
                raise ComposeError(f"{dockerfile}: legacy `ENV key value` form is not supported")
            environment[key] = interpolate(value, build_args or {}, str(dockerfile))
    return environment
