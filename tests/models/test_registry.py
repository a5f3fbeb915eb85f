"""The model registry: every registered kind builds, fits and predicts from a config entry; its parameter names
are its estimator's own (sklearn's ``get_params``); a typo in a kind or a parameter is refused with the close
match and the valid names when the config is read, before any data is loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import DatasetNotFoundError
from workbench.models import MODEL_KINDS, ModelConfigError, model_kind
from workbench.pipeline import ModelConfig, Pipeline, PipelineConfig


def _events(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.Series]:
    """A labelled panel whose label leans on ``ret_1`` and ``rv_15``, with event times and label ends."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-11-25 14:35", periods=n, freq="1min", tz="UTC")
    X = pd.DataFrame({"ret_1": rng.normal(0, 1e-3, n), "rv_15": rng.uniform(1e-4, 1e-3, n),
                      "imbalance": rng.normal(0, 1, n)}, index=ts)
    y = (X["ret_1"] + rng.normal(0, 1e-3, n) > 0).astype(np.int64).to_numpy()
    t1 = pd.Series(ts + pd.Timedelta(minutes=5), index=ts)
    return X, y, np.ones(n), t1


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_every_registered_kind_builds_fits_and_predicts_probabilities(kind: str) -> None:
    entry = MODEL_KINDS[kind]
    params = {"n_estimators": 20, "min_child_samples": 20} if kind == "lightgbm" else {}
    model = entry.build(params, seed=3)
    X, y, weight, t1 = _events()
    p = entry.fit(model, X, y, weight, t1).predict_proba(X)
    assert p.shape == (len(X), 2) and np.all((p >= 0) & (p <= 1)) and np.allclose(p.sum(axis=1), 1.0)
    if "seed" in entry.param_names:
        assert model.get_params()["seed"] == 3  # the run's seed reaches models that take one


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_a_kinds_parameter_names_are_its_estimators_own(kind: str) -> None:
    entry = MODEL_KINDS[kind]
    assert set(entry.param_names) == set(entry.estimator().get_params())
    assert model_kind(kind) is entry


@pytest.mark.parametrize("kind, typo, meant", [
    ("lightgbm", "num_leavs", "num_leaves"), ("lightgbm", "learning_rat", "learning_rate"),
    ("lightgbm", "Min_Child_Samples", "min_child_samples"), ("logistic", "c", "C"),
    ("volatility", "max_iters", "max_iter"),
])
def test_a_misspelt_parameter_names_the_close_match_and_the_valid_names(kind: str, typo: str, meant: str) -> None:
    with pytest.raises(ModelConfigError) as caught:
        MODEL_KINDS[kind].build({typo: 1}, seed=0)
    message = str(caught.value)
    assert f"params.{typo}: did you mean {meant}?" in message and "\n" not in message
    assert f"valid: {list(MODEL_KINDS[kind].param_names)}" in message


def test_a_lightgbm_setting_the_model_does_not_expose_is_named_as_such() -> None:
    with pytest.raises(ModelConfigError, match=r"params\.max_bin \(a LightGBM parameter LightGBMModel does not "
                                               r"expose\)"):
        MODEL_KINDS["lightgbm"].check_params({"max_bin": 63}, "params")


def test_an_unknown_kind_names_the_close_match_and_the_registered_kinds() -> None:
    with pytest.raises(ModelConfigError, match=r"'lightgbn' is not a registered model \(did you mean 'lightgbm'\?\); "
                                               r"registered kinds: \['lightgbm', 'logistic', 'volatility'\]"):
        PipelineConfig.from_dict({"model": {"models": [{"kind": "lightgbn"}]}})


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(MODEL_KINDS)), name=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20))
def test_any_name_outside_the_constructor_is_refused_as_a_config_error_never_a_type_error(kind: str, name: str) -> None:
    entry = MODEL_KINDS[kind]
    if name in entry.param_names:
        assert entry.build({name: entry.default(name)}, seed=0).get_params()[name] == entry.default(name)
        return
    with pytest.raises(ModelConfigError, match=f"unknown {kind} parameter"):
        PipelineConfig.from_dict({"model": {"models": [{"kind": kind, "params": {name: 1}}]}})


def test_the_whole_config_is_validated_before_any_data_is_loaded(lake_root: object) -> None:
    """A typo in model.params fails when the config is read, even though its dataset does not exist."""
    config = {"data": {"dataset": "no-such-dataset"}, "model": {"params": {"num_leavs": 31}}}
    with pytest.raises(ModelConfigError, match=r"model\.params\.num_leavs: did you mean num_leaves\?"):
        Pipeline(config)
    with pytest.raises(DatasetNotFoundError):  # the same config without the typo gets as far as the data
        Pipeline({**config, "model": {"params": {"num_leaves": 31}}}).run(progress=False)


def test_the_default_models_keep_their_metric_names_and_params_reach_the_first_lightgbm() -> None:
    config = ModelConfig(params={"num_leaves": 7})
    assert [(s.name, s.kind) for s in config.specs] == [("lightgbm", "lightgbm"), ("baseline", "logistic"),
                                                        ("volatility", "volatility")]
    assert config.specs[0].params == {"num_leaves": 7} and config.specs[1].params == {}


@pytest.mark.parametrize("model, message", [
    ({"models": [{"kind": "logistic"}, {"kind": "logistic"}]}, "names ['baseline'] more than once"),
    ({"models": []}, "model.models is empty"),
    ({"models": [{"kind": "logistic", "param": {}}]}, "unknown model.models[0] key(s) ['param']"),
    ({"models": [{"name": "x"}]}, "model.models[0] must be an object with a 'kind'"),
    ({"params": {"num_leaves": 7}, "models": [{"kind": "logistic"}]}, "model.models has no lightgbm entry"),
    ({"params": {"num_leaves": 7}, "models": [{"kind": "lightgbm", "params": {"num_leaves": 9}}]},
     "model.params and model.models[0].params both set ['num_leaves']"),
    ({"n_trials": 2, "models": [{"kind": "logistic"}]}, "model.n_trials tunes a lightgbm entry"),
])
def test_bad_model_lists_are_refused_in_one_line(model: dict, message: str) -> None:
    with pytest.raises(ModelConfigError) as caught:
        PipelineConfig.from_dict({"model": model})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_model_list_round_trips_through_json() -> None:
    models = [{"kind": "lightgbm", "params": {"num_leaves": 7}},
              {"kind": "logistic", "name": "ridge", "params": {"C": 0.1}}]
    config = PipelineConfig.from_dict({"model": {"models": models}})
    assert PipelineConfig.from_json(config.to_json()) == config
    assert [s.name for s in config.model.specs] == ["lightgbm", "ridge"]


def test_the_sample_model_list_config_is_the_small_universe_one_with_four_models() -> None:
    """tests/fixtures/pipeline/model_list.json (the README's example) reads as the small-universe config with
    a model list: LightGBM, the baseline, a strongly regularized logistic and the volatility reference."""
    fixtures = Path(__file__).parents[1] / "fixtures" / "pipeline"
    listed = PipelineConfig.from_json((fixtures / "model_list.json").read_text())
    small = PipelineConfig.from_json((fixtures / "small_universe.json").read_text())
    assert [(s.name, s.kind) for s in listed.model.specs] == [
        ("lightgbm", "lightgbm"), ("baseline", "logistic"), ("logistic_l2", "logistic"), ("volatility", "volatility")]
    assert listed.model.specs[2].params == {"C": 0.01}
    assert (listed.data, listed.cv, listed.evaluation) == (small.data, small.cv, small.evaluation)
