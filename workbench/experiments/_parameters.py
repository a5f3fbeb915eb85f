"""The walk-forward notebook's parameters: ``05_walk_forward``'s ``parameters`` cell is the list of valid names,
their types (its annotations) and defaults; :func:`validate_parameters` checks a set of values against it before
any kernel starts, and :func:`config_from_parameters` maps the flat names onto a :class:`PipelineConfig` (so the
notebook is glue and a sweep can vary any setting by one name)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError

if TYPE_CHECKING:  # the pipeline (LightGBM, SHAP, ...) loads when a config is built, not on import
    from workbench.pipeline import PipelineConfig, RunResult

NOTEBOOK = "05_walk_forward"

#: flat parameter name → (config section, field); section None is a top-level field of the config
CONFIG_PARAMETERS: dict[str, tuple[str | None, str]] = {
    "name": (None, "name"), "seed": (None, "seed"), "features": (None, "features"),
    "dataset": ("data", "dataset"), "tickers": ("data", "tickers"), "start": ("data", "start"),
    "end": ("data", "end"), "features_all_nan": ("data", "features_all_nan"),
    "pt_sl": ("labels", "pt_sl"), "vertical_bars": ("labels", "vertical_bars"), "min_ret": ("labels", "min_ret"),
    "volatility_span": ("labels", "volatility_span"), "event_every": ("labels", "event_every"),
    "clip_to_session": ("labels", "clip_to_session"), "entry_delay_bars": ("labels", "entry_delay_bars"),
    "train_days": ("cv", "train_days"), "test_days": ("cv", "test_days"), "step_days": ("cv", "step_days"),
    "embargo_bars": ("cv", "embargo_bars"), "expanding": ("cv", "expanding"),
    "models": ("model", "models"), "model_params": ("model", "params"), "n_trials": ("model", "n_trials"),
    "tuning_folds": ("model", "tuning_folds"),
    "delay_bars": ("execution", "delay_bars"), "fill_price": ("execution", "fill_price"),
    "fees_bps": ("execution", "fees_bps"), "spread": ("execution", "spread"),
    "fallback_spread_bps": ("execution", "fallback_spread_bps"), "impact_coef": ("execution", "impact_coef"),
    "capital": ("execution", "capital"), "cost_multiplier": ("execution", "cost_multiplier"),
    "top_k": ("evaluation", "top_k"), "shap_rows": ("evaluation", "shap_rows"),
    "min_names": ("evaluation", "min_names"), "alpha": ("evaluation", "alpha"),
    "loss_test": ("evaluation", "loss_test"), "decay_delays": ("evaluation", "decay_delays"),
    "cost_multipliers": ("evaluation", "cost_multipliers"),
}
#: parameters that steer the run rather than configure it: where the pipeline writes its folder (None: the
#: default under the runs home) and whether the pipeline records its own registry row (the papermill wrapper
#: records the run itself and passes False)
RUN_PARAMETERS = ("run_folder", "record_run")
#: config fields no parameter sets, and why: build a dataset with ``wb data`` / ``wb demo`` instead of
#: ``data.synth``; Optuna keeps its study in the run folder unless a config file says otherwise
NOT_PARAMETERS = {("data", "synth"): "build datasets with `wb data` or `wb demo`",
                  ("model", "storage"): "a config file's model.storage"}
#: the parameters whose None stands for the config's default value
NONE_IS_DEFAULT = ("features", "models")

_TYPES: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "float": (int, float), "bool": bool,
                                              "list": list, "dict": dict}


class ParameterError(WorkbenchError, ValueError):
    """A parameter ``05_walk_forward`` does not take, or a value of the wrong type."""


def notebook_path(name: str = NOTEBOOK) -> Path:
    """The project notebook ``name``."""
    from workbench.notebooks import notebook_path as path

    return path(name)


@functools.lru_cache(maxsize=4)
def _inspect(path: str, mtime_ns: int) -> dict[str, dict[str, Any]]:
    import papermill

    parameters = papermill.inspect_notebook(path)
    return {name: {"type": info["inferred_type_name"], "default": ast.literal_eval(info["default"]),
                   "help": info.get("help", "")} for name, info in parameters.items()}


def notebook_parameters(name: str = NOTEBOOK) -> dict[str, dict[str, Any]]:
    """The parameters cell of notebook ``name``: per name its annotated ``type`` (e.g. ``"Optional[int]"``), its
    ``default`` (the literal value) and its ``help`` (the line's comment)."""
    path = notebook_path(name)
    return _inspect(str(path), path.stat().st_mtime_ns)


def walk_forward_parameters() -> dict[str, Any]:
    """The parameters a walk-forward run takes (``05_walk_forward``'s cell but :data:`RUN_PARAMETERS`, which the
    papermill run sets itself) and their defaults, in the cell's order."""
    return {name: info["default"] for name, info in notebook_parameters().items() if name not in RUN_PARAMETERS}


def _fits(value: Any, annotation: str) -> bool:
    """Whether ``value`` is of the cell's annotation: ``int``, ``str``, ... or ``Optional[...]`` (a float
    parameter takes an int, nothing but a bool parameter takes a bool)."""
    optional = re.fullmatch(r"Optional\[(\w+)\]", annotation)
    parts = [optional.group(1), "None"] if optional else [annotation]
    for part in parts:
        if part == "None" and value is None:
            return True
        kind = _TYPES.get(part)
        if kind is not None and isinstance(value, kind) and not (part != "bool" and isinstance(value, bool)):
            return True
    return False


def validate_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` checked against ``05_walk_forward``'s parameters cell: unknown names and values of the
    wrong type raise a one-line :class:`ParameterError` naming the valid parameters; returns them merged over
    the defaults (the full set the notebook will see)."""
    cell = notebook_parameters()
    unknown = sorted(set(parameters) - set(cell))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; {NOTEBOOK}'s parameters: "
                             f"{', '.join(walk_forward_parameters())}")
    for name, value in parameters.items():
        annotation = cell[name]["type"]
        if not _fits(value, annotation):
            raise ParameterError(f"parameter {name} must be {annotation}, got {value!r} "
                                 f"({type(value).__name__}); {NOTEBOOK}'s parameters: "
                                 + ", ".join(f"{key}: {info['type']}" for key, info in cell.items()
                                         if key not in RUN_PARAMETERS))
    return {**{name: info["default"] for name, info in cell.items()}, **parameters}


def config_from_parameters(parameters: dict[str, Any]) -> PipelineConfig:
    """The :class:`PipelineConfig` the flat ``parameters`` (merged over the notebook's defaults) describe;
    ``features=None`` is the default feature spec and ``models=None`` the default three models."""
    from workbench.pipeline import PipelineConfig
    from workbench.pipeline._config import DEFAULT_MODELS

    values = validate_parameters(parameters)
    data: dict[str, Any] = {}
    for name, (section, field) in CONFIG_PARAMETERS.items():
        value = values[name]
        if value is None and name in NONE_IS_DEFAULT:
            continue
        if section is None:
            data[field] = value
        else:
            data.setdefault(section, {})[field] = value
    data.setdefault("model", {}).setdefault("models", list(DEFAULT_MODELS))
    try:
        return PipelineConfig.from_dict(data)
    except (ValueError, TypeError) as error:
        raise ParameterError(f"{NOTEBOOK} parameters: {error}") from error


def run_walk_forward(namespace: dict[str, Any]) -> RunResult:
    """Run the pipeline the notebook's parameters describe (taken from ``namespace``, e.g. the kernel's
    ``globals()``, by the cell's names) into ``run_folder`` (None: the default folder under the runs home,
    replacing an identical earlier run), recording it in the registry when ``record_run``. This is the
    ``05_walk_forward`` notebook's one call."""
    from workbench.pipeline import Pipeline

    values = validate_parameters({name: namespace[name] for name in notebook_parameters() if name in namespace})
    folder = values["run_folder"]
    return Pipeline(config_from_parameters(values)).run(folder, progress=False, overwrite=folder is None,
                                                        record=values["record_run"])
