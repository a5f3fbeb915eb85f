"""05_walk_forward's parameters cell is the list of valid names and types; the flat names map onto every
setting of PipelineConfig (checked by the config leaf each one changes, not by the mapping table), and bad
names or types are refused in one line naming the valid parameters."""

from __future__ import annotations

import dataclasses
from typing import Any

import papermill
import pytest

from workbench.experiments._parameters import (
    NOT_PARAMETERS,
    RUN_PARAMETERS,
    ParameterError,
    config_from_parameters,
    notebook_path,
    validate_parameters,
    walk_forward_parameters,
)
from workbench.pipeline import PipelineConfig

#: a valid value different from the default, per parameter whose type alone does not give one
DISTINCT: dict[str, Any] = {
    "dataset": "other", "tickers": ["AAA", "BBB"], "start": "2024-11-26", "end": "2024-11-29",
    "features_all_nan": "error", "pt_sl": [2.0, 0.5], "entry_delay_bars": 0, "step_days": 1,
    "models": [{"kind": "lightgbm"}, {"kind": "logistic"}], "model_params": {"num_leaves": 7},
    "fill_price": "close", "spread": "fixed", "loss_test": "block_bootstrap", "decay_delays": [0, 3],
    "cost_multipliers": [1.0, 3.0], "name": "elsewhere", "alpha": 0.1,
}


def _distinct(name: str, default: Any) -> Any:
    if name in DISTINCT:
        return DISTINCT[name]
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, float):
        return default + 0.25
    raise AssertionError(f"no distinct value for {name}")


def _leaves(config: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """Every setting of a config dict by (section, field), top-level ones by (field,)."""
    out: dict[tuple[str, ...], Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and key != "features":
            out.update({(key, field): item for field, item in value.items()})
        else:
            out[(key,)] = value
    return out


def test_names_and_defaults_are_the_notebook_cell() -> None:
    raw = papermill.inspect_notebook(str(notebook_path()))
    assert set(walk_forward_parameters()) == set(raw) - set(RUN_PARAMETERS)
    assert set(RUN_PARAMETERS) <= set(raw)
    assert walk_forward_parameters()["train_days"] == 10 and walk_forward_parameters()["tickers"] is None


def test_defaults_are_the_default_config() -> None:
    assert config_from_parameters({}) == PipelineConfig(name="walk_forward")


def test_every_parameter_changes_its_own_config_setting() -> None:
    base = _leaves(config_from_parameters({}).to_dict())
    for name, default in walk_forward_parameters().items():
        if name == "features":
            continue
        value = _distinct(name, default)
        changed = _leaves(config_from_parameters({name: value}).to_dict())
        diff = {path: leaf for path, leaf in changed.items() if base.get(path) != leaf}
        field = "params" if name == "model_params" else name
        assert len(diff) == 1, (name, diff)
        (path, leaf), = diff.items()
        assert path[-1] == field and leaf == value, (name, path, leaf)


def test_features_takes_a_spec_and_none_is_the_default_spec() -> None:
    spec = PipelineConfig().features
    smaller = {**spec, **{key: value for key, value in spec.items() if not isinstance(value, list | dict)}}
    assert config_from_parameters({"features": smaller}).features == smaller
    assert config_from_parameters({"features": None}).features == spec


def test_every_config_setting_has_a_parameter_or_a_stated_reason() -> None:
    sections = {"data", "labels", "cv", "model", "execution", "evaluation"}
    config = PipelineConfig()
    covered = {name for name in walk_forward_parameters()} | {"params"}
    for top in dataclasses.fields(PipelineConfig):
        if top.name in sections:
            for field in dataclasses.fields(getattr(config, top.name)):
                assert field.name in covered or (top.name, field.name) in NOT_PARAMETERS, (top.name, field.name)
        else:
            assert top.name in covered, top.name


@pytest.mark.parametrize(("parameters", "words"), [
    ({"train_dayz": 3}, "unknown parameter(s) train_dayz"),
    ({"train_days": "3"}, "train_days must be int"),
    ({"train_days": 3.0}, "train_days must be int"),
    ({"expanding": 1}, "expanding must be bool"),
    ({"fees_bps": True}, "fees_bps must be float"),
    ({"tickers": "AAA"}, "tickers must be Optional[list]"),
    ({"model_params": None}, "model_params must be dict"),
])
def test_bad_parameters_are_one_line_naming_the_valid_ones(parameters: dict[str, Any], words: str) -> None:
    with pytest.raises(ParameterError) as caught:
        validate_parameters(parameters)
    message = str(caught.value)
    assert words in message and "\n" not in message
    assert "train_days" in message and "top_k" in message and "run_folder" not in message


def test_ints_pass_as_floats_and_none_as_optional() -> None:
    values = validate_parameters({"fees_bps": 1, "tickers": None, "step_days": None, "start": "2024-11-26"})
    assert values["fees_bps"] == 1 and values["top_k"] == 10 and len(values) == len(walk_forward_parameters()) + 2


def test_a_value_the_config_refuses_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="loss_test"):
        config_from_parameters({"loss_test": "t-test"})
