"""``wb config template``: commented JSON built from the config dataclasses that parses back to the default
config and runs with ``wb run``; ``//`` comments stripped outside strings only."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.cli import main
from workbench.cli_config import config_template, load_config_text, strip_json_comments
from workbench.pipeline import PipelineConfig

_TEXT = st.lists(st.sampled_from([*'ab/"\\ \n*:é', '//', '\\"']), max_size=8).map(''.join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4), max_leaves=12)


def _with_comments(value: object) -> str:
    """``value`` as indented JSON with a ``//`` comment (holding quotes and slashes) after every line."""
    return "\n".join(f'{line}  // a "quoted" // comment \\ here' for line in json.dumps(value, indent=1).splitlines())


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_stripping_comments_keeps_every_value_including_strings_with_slashes(value: object) -> None:
    plain = json.dumps(value, indent=1)
    assert json.loads(strip_json_comments(plain)) == value  # nothing outside a comment is touched
    assert json.loads(strip_json_comments(_with_comments(value))) == value


def test_stripping_keeps_line_numbers_for_parse_errors() -> None:
    text = '{\n  "a": 1,  // fine\n  "b": ,\n}'
    assert strip_json_comments(text).count("\n") == text.count("\n")
    try:
        load_config_text(text, "my.jsonc")
    except ValueError as exc:
        assert str(exc) == ("my.jsonc is not valid JSON (// comments are allowed): Expecting value at line 3, "
                            "column 8")
    else:
        raise AssertionError("a bad config parsed")


def _sections(config: object) -> list[tuple[str, type]]:
    return [(f.name, type(getattr(config, f.name))) for f in dataclasses.fields(config)
            if dataclasses.is_dataclass(getattr(config, f.name))]


def test_the_template_is_the_default_config_with_every_section_and_setting_explained() -> None:
    result = CliRunner().invoke(main, ["config", "template"])
    assert result.exit_code == 0 and result.output == config_template()
    text = result.output
    assert PipelineConfig.from_dict(json.loads(strip_json_comments(text))) == PipelineConfig()
    default = PipelineConfig()
    sections = _sections(default)
    assert {name for name, _ in sections} >= {"data", "labels", "cv", "model", "execution", "evaluation"}
    for name, cls in sections:  # each section opens with its dataclass's docstring
        first_words = " ".join((cls.__doc__ or "").split()[:4]).replace("``", "`")
        assert f"// {name}: {first_words}" in text, name
        for field in dataclasses.fields(cls):  # each setting carries its type
            assert any(line.strip().startswith(f'"{field.name}": ') and f"// {field.type}" in line
                       for line in text.splitlines()), f"{name}.{field.name}"
    assert "// float; the FULL spread assumed where no quote is known" in text  # the source comment beside a field
    assert all(len(line) <= 120 for line in text.splitlines())


def test_wb_run_runs_the_template_as_printed(lake_root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    built = runner.invoke(main, ["data", "synth", "--tickers", "30", "--days", "3", "--name", "template", "--quiet"])
    assert built.exit_code == 0, built.output
    text = runner.invoke(main, ["config", "template"]).output
    for default, small in [('"dataset": "default"', '"dataset": "template"'), ('"train_days": 10', '"train_days": 2'),
                           ('"test_days": 2', '"test_days": 1'), ('"name": "research"', '"name": "from-template"')]:
        assert text.count(default) == 1
        text = text.replace(default, small)  # the comments stay: wb run must strip them itself
    config = tmp_path / "small.jsonc"
    config.write_text(text)
    result = runner.invoke(main, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "purged walk-forward folds" in result.output and (tmp_path / "run" / "report.html").exists()
    assert PipelineConfig.from_json((tmp_path / "run" / "config.json").read_text()).cv.train_days == 2
    again = runner.invoke(main, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert again.exit_code == 1 and len(again.output.strip().splitlines()) == 1
    assert "already holds a run; pass --overwrite" in again.output
    replaced = runner.invoke(main, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
