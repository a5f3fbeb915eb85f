"""``wb config template``: the default research configuration as JSON with ``//`` comments, and the comment
stripping ``wb run`` applies, so the printed template runs as it is.

The template is generated from :class:`workbench.pipeline.PipelineConfig` itself: the values are the default
config's ``to_dict()``, each section is introduced by its dataclass's docstring and each setting carries its
type and the comment written beside it in the source, so the template cannot drift from the code.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import json
import re
import textwrap
import tokenize
from typing import Any

import click

INDENT = "  "
WIDTH = 116  # comment lines wrap before the project's 120-column limit


def strip_json_comments(text: str) -> str:
    """``text`` with every ``//`` line comment outside JSON strings removed (newlines kept, so a parse error
    still names the right line). ``"sqlite:////tmp/x.db"`` and other strings with ``//`` are left whole."""
    out, i, in_string = [], 0, False
    while i < len(text):
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out)


def load_config_text(text: str, source: str) -> dict[str, Any]:
    """The JSON object of a config file that may carry ``//`` comments; one-line errors name ``source``."""
    try:
        data = json.loads(strip_json_comments(text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not valid JSON (// comments are allowed): {exc.msg} at line {exc.lineno}, "
                         f"column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{source} must hold a JSON object of settings (see `wb config template`), "
                         f"got a {type(data).__name__}")
    return data


def config_template() -> str:
    """The default :class:`~workbench.pipeline.PipelineConfig` as commented JSON that ``wb run`` accepts."""
    from workbench.pipeline import PipelineConfig

    config = PipelineConfig()
    header = ("Research run configuration for `wb run FILE`: JSON with // comments (wb run strips them). Every "
              "setting shows its default; delete the ones you keep. Unknown settings are refused.")
    lines = _comment(header, "") + _comment(_doc(PipelineConfig), "")
    lines += _render_section(config, config.to_dict(), "")
    return "\n".join(lines) + "\n"


def _render_section(obj: Any, values: dict[str, Any], indent: str) -> list[str]:
    """``{ ... }`` for one dataclass instance: a comment block before each sub-section, ``// type`` after each
    setting."""
    inner = indent + INDENT
    comments = _field_comments(type(obj))
    fields = [f for f in dataclasses.fields(obj) if f.name in values]
    lines = ["{"]
    for position, field in enumerate(fields):
        comma = "," if position < len(fields) - 1 else ""
        value = getattr(obj, field.name)
        note = f"{field.type}" + (f"; {comments[field.name]}" if field.name in comments else "")
        if dataclasses.is_dataclass(value):
            lines += _comment(f"{field.name}: {_doc(type(value))}", inner)
            body = _render_section(value, values[field.name], inner)
            lines.append(f"{inner}{json.dumps(field.name)}: {body[0]}")
            lines += body[1:-1]
            lines.append(f"{body[-1]}{comma}")
            continue
        rendered = _json_lines(values[field.name], len(inner) + len(field.name) + 4)
        lines.append(f"{inner}{json.dumps(field.name)}: {rendered[0]}{comma if len(rendered) == 1 else ''}  // {note}")
        lines += [f"{inner}{line}" for line in rendered[1:-1]]
        if len(rendered) > 1:
            lines.append(f"{inner}{rendered[-1]}{comma}")
    lines.append(f"{indent}}}")
    return lines


def _json_lines(value: Any, used: int) -> list[str]:
    """``value`` as JSON lines relative to its key's indent: on one line when it fits in what is left of the
    width after ``used`` columns, else one member per line (so a feature list reads one feature a line)."""
    flat = json.dumps(value)
    if len(flat) + used <= WIDTH or not isinstance(value, dict | list) or not value:
        return [flat]
    items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
    lines = ["{" if isinstance(value, dict) else "["]
    for position, (key, item) in enumerate(items):
        prefix = "" if key is None else f"{json.dumps(key)}: "
        body = _json_lines(item, used + len(INDENT) + len(prefix))
        body[0] = prefix + body[0]
        body[-1] += "," if position < len(items) - 1 else ""
        lines += [INDENT + line for line in body]
    lines.append("}" if isinstance(value, dict) else "]")
    return lines


def _doc(cls: type) -> str:
    """A class docstring as one paragraph."""
    return " ".join(inspect.cleandoc(cls.__doc__ or "").split())


def _comment(text: str, indent: str) -> list[str]:
    """``text`` as wrapped ``//`` lines, Sphinx markup (``:meth:`x```, double backquotes) read as plain text."""
    plain = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "`")
    return [f"{indent}// {line}" for line in textwrap.wrap(plain, WIDTH - len(indent) - 3, break_on_hyphens=False)]


def _field_comments(cls: type) -> dict[str, str]:
    """The ``# comment`` written on the same source line as each field of dataclass ``cls``."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (a frozen build): the template keeps docstrings and types
        return {}
    comments = {token.start[0]: token.string.lstrip("#").strip()
                for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT and not token.string.lstrip("# ").startswith(("noqa", "type:"))}
    body = next(node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)).body
    return {node.target.id: comments[node.lineno] for node in body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.lineno in comments}


@click.group("config")
def config() -> None:
    """Research run configurations (the JSON files `wb run` reads)."""


@config.command("template")
def config_template_command() -> None:
    """Print the default configuration as commented JSON: `wb config template > my.jsonc; wb run my.jsonc`."""
    click.echo(config_template(), nl=False)
