"""A sweep file (``wb sweep SWEEP.yaml``): base parameters of ``05_walk_forward`` and either a ``grid`` of values
to cross or an Optuna ``search`` with a budget, plus ``workers`` and a per-run ``timeout``. The whole file is
checked before any run starts — unknown keys, unknown parameter names or wrong types, empty grids, bad search
spaces — and each problem is one line naming the fix."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import WorkbenchError
from workbench.experiments._registry import METRICS

#: the registry's metric columns a sweep can optimize or rank by
OBJECTIVES = METRICS
DIRECTIONS = ("maximize", "minimize")
_TOP_KEYS = ("sweep_id", "base", "grid", "search", "objective", "direction", "workers", "timeout")
_SEARCH_KEYS = ("method", "n_trials", "objective", "direction", "seed", "space")
_SPACE_KINDS = ("int", "float", "categorical")
_SWEEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SweepFileError(WorkbenchError, ValueError):
    """A sweep file that cannot run as written (the message names the key and the fix)."""


@dataclass(frozen=True)
class SearchSpace:
    """One searched parameter: ``int: [low, high]``, ``float: [low, high]`` (``log: true`` for a log scale,
    ``step``) or ``categorical: [choices...]``."""

    name: str
    kind: str
    values: tuple[Any, ...]
    log: bool = False
    step: float | None = None

    def distribution(self) -> Any:
        """The Optuna distribution ``study.ask`` samples from."""
        import optuna.distributions as dist

        if self.kind == "categorical":
            return dist.CategoricalDistribution(list(self.values))
        low, high = self.values
        if self.kind == "int":
            return dist.IntDistribution(int(low), int(high), log=self.log, step=int(self.step or 1))
        return dist.FloatDistribution(float(low), float(high), log=self.log, step=self.step)


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep. ``points()`` lists a grid's parameter sets (base merged with each crossing); a search
    sweep has ``method="optuna"``, ``n_trials`` and ``space`` instead. ``objective``/``direction`` choose the
    best run (the one whose overfitting statistics the summary reports) and, for a search, what it optimizes."""

    sweep_id: str
    base: dict[str, Any]
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    method: str = "grid"
    n_trials: int = 0
    space: tuple[SearchSpace, ...] = ()
    seed: int = 0
    objective: str = "net_sharpe"
    direction: str = "maximize"
    workers: int | None = None
    timeout: float | None = None

    def points(self) -> list[dict[str, Any]]:
        """Every grid point as full parameters (base, then the point's values), in the file's order."""
        names = list(self.grid)
        return [{**self.base, **dict(zip(names, values, strict=True))}
                for values in itertools.product(*(self.grid[name] for name in names))]

    def to_dict(self) -> dict[str, Any]:
        """The sweep as a sweep file would say it (``sweep.json`` in the sweep folder)."""
        out: dict[str, Any] = {"sweep_id": self.sweep_id, "base": self.base}
        if self.method == "grid":
            out.update(grid={k: list(v) for k, v in self.grid.items()}, objective=self.objective,
                       direction=self.direction)
        else:
            out["search"] = {"method": self.method, "n_trials": self.n_trials, "objective": self.objective,
                             "direction": self.direction, "seed": self.seed,
                             "space": {s.name: {s.kind: list(s.values), **({"log": True} if s.log else {}),
                                                **({"step": s.step} if s.step is not None else {})}
                                       for s in self.space}}
        return {**out, "workers": self.workers, "timeout": self.timeout}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "sweep file") -> SweepSpec:
        """Check a sweep's settings (the parsed YAML) and return the spec; every parameter name and value is
        checked against ``05_walk_forward``'s parameters cell before anything runs."""
        if not isinstance(data, dict):
            raise SweepFileError(f"{where}: expected a mapping of settings ({', '.join(_TOP_KEYS)}), got "
                                 f"{type(data).__name__}")
        _refuse_unknown(data, _TOP_KEYS, where)
        base = data.get("base") or {}
        if not isinstance(base, dict):
            raise SweepFileError(f"{where}: base must map parameter names to values, got {base!r}")
        has_grid, has_search = data.get("grid") is not None, data.get("search") is not None
        if has_grid == has_search:
            raise SweepFileError(f"{where}: give exactly one of grid (values to cross) or search (an Optuna "
                                 "search with a budget)")
        settings: dict[str, Any] = {"base": dict(base), "workers": _positive(data.get("workers"), "workers", where,
                                                                             integer=True),
                                    "timeout": _positive(data.get("timeout"), "timeout", where)}
        if has_grid:
            settings.update(grid=_grid(data["grid"], where), objective=_objective(data.get("objective"), where),
                            direction=_direction(data.get("direction"), where))
        else:
            if "objective" in data or "direction" in data:
                raise SweepFileError(f"{where}: a search names its objective and direction inside search:")
            settings.update(_search(data["search"], where))
        varied = set(settings.get("grid", {})) | {s.name for s in settings.get("space", ())}
        _check_parameters({**settings["base"], **{name: None for name in varied}}, where, skip=varied)
        for name, values in settings.get("grid", {}).items():
            for value in values:
                _check_parameters({**settings["base"], name: value}, f"{where}: grid.{name}")
        for space in settings.get("space", ()):
            probe = space.values if space.kind == "categorical" else (space.values[0],)
            for value in probe:
                _check_parameters({**settings["base"], space.name: value}, f"{where}: search.space.{space.name}")
        sweep_id = data.get("sweep_id")
        if sweep_id is None:
            sweep_id = "sweep-" + hashlib.sha256(json.dumps(
                {k: v for k, v in data.items() if k not in ("workers", "timeout")}, sort_keys=True,
                default=str).encode()).hexdigest()[:10]
        elif not isinstance(sweep_id, str) or not _SWEEP_ID.match(sweep_id):
            raise SweepFileError(f"{where}: sweep_id {sweep_id!r} must be letters, digits, '.', '_' or '-' (it names "
                                 "the sweep's folder)")
        return cls(sweep_id=sweep_id, **settings)

    @classmethod
    def from_file(cls, path: str | Path) -> SweepSpec:
        """Read and check a YAML (or JSON) sweep file."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise SweepFileError(f"{path}: not valid YAML{at}: {getattr(error, 'problem', error)}") from error
        return cls.from_dict(data, where=str(path))


def _refuse_unknown(data: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SweepFileError(f"{where}: unknown key(s) {unknown}; known: {', '.join(known)}")


def _positive(value: Any, name: str, where: str, *, integer: bool = False) -> Any:
    if value is None:
        return None
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        kind = "a positive integer" if integer else "a positive number of seconds"
        raise SweepFileError(f"{where}: {name} must be {kind}, got {value!r}")
    return value


def _objective(value: Any, where: str) -> str:
    value = "net_sharpe" if value is None else value
    if value not in OBJECTIVES:
        raise SweepFileError(f"{where}: objective {value!r} is not a run metric; choose one of {', '.join(OBJECTIVES)}")
    return value


def _direction(value: Any, where: str) -> str:
    value = "maximize" if value is None else value
    if value not in DIRECTIONS:
        raise SweepFileError(f"{where}: direction must be maximize or minimize, got {value!r}")
    return value


def _grid(grid: Any, where: str) -> dict[str, tuple[Any, ...]]:
    if not isinstance(grid, dict) or not grid:
        raise SweepFileError(f"{where}: grid must map parameter names to lists of values, e.g. "
                             "grid: {train_days: [3, 5], top_k: [5, 10]}")
    out = {}
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepFileError(f"{where}: grid.{name} must be a non-empty list of values, got {values!r}")
        out[name] = tuple(values)
    return out


def _search(search: Any, where: str) -> dict[str, Any]:
    if not isinstance(search, dict):
        raise SweepFileError(f"{where}: search must be a mapping ({', '.join(_SEARCH_KEYS)})")
    _refuse_unknown(search, _SEARCH_KEYS, f"{where}: search")
    if search.get("method", "optuna") != "optuna":
        raise SweepFileError(f"{where}: search.method {search.get('method')!r} is not known; use optuna (TPE), or a "
                             "grid: for a full crossing")
    n_trials = search.get("n_trials")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise SweepFileError(f"{where}: search.n_trials (the budget) must be a positive integer, got {n_trials!r}")
    seed = search.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SweepFileError(f"{where}: search.seed must be an integer, got {seed!r}")
    space = search.get("space")
    if not isinstance(space, dict) or not space:
        raise SweepFileError(f"{where}: search.space must map parameter names to ranges, e.g. "
                             "space: {top_k: {int: [5, 20]}, fees_bps: {float: [0.1, 1.0], log: true}}")
    return {"method": "optuna", "n_trials": n_trials, "seed": seed,
            "objective": _objective(search.get("objective"), f"{where}: search"),
            "direction": _direction(search.get("direction"), f"{where}: search"),
            "space": tuple(_space(name, entry, f"{where}: search.space.{name}") for name, entry in space.items())}


def _space(name: str, entry: Any, where: str) -> SearchSpace:
    if not isinstance(entry, dict):
        raise SweepFileError(f"{where} must be one of {{int: [low, high]}}, {{float: [low, high]}} or "
                             f"{{categorical: [choices]}}, got {entry!r}")
    kinds = [kind for kind in _SPACE_KINDS if kind in entry]
    _refuse_unknown(entry, (*_SPACE_KINDS, "log", "step"), where)
    if len(kinds) != 1:
        raise SweepFileError(f"{where}: give exactly one of int, float or categorical")
    kind, values = kinds[0], entry[kinds[0]]
    if not isinstance(values, list) or not values:
        raise SweepFileError(f"{where}.{kind} must be a non-empty list, got {values!r}")
    log, step = bool(entry.get("log", False)), entry.get("step")
    if kind != "categorical":
        numbers = (int,) if kind == "int" else (int, float)
        if len(values) != 2 or not all(isinstance(v, numbers) and not isinstance(v, bool) for v in values) \
                or values[0] >= values[1]:
            raise SweepFileError(f"{where}.{kind} must be [low, high] with low < high, got {values!r}")
        if log and values[0] <= 0:
            raise SweepFileError(f"{where}: a log scale needs low > 0, got {values[0]!r}")
    elif log or step is not None:
        raise SweepFileError(f"{where}: log and step apply to int and float ranges, not categorical")
    return SearchSpace(name=name, kind=kind, values=tuple(values), log=log, step=step)


def _check_parameters(parameters: dict[str, Any], where: str, *, skip: set[str] | frozenset[str] = frozenset()
                      ) -> None:
    """Names against ``05_walk_forward``'s parameters cell, values by its types and by the pipeline config they
    make (``skip``: names whose value is a placeholder, checked one value at a time instead)."""
    from workbench.experiments._parameters import ParameterError, config_from_parameters, validate_parameters

    try:
        validate_parameters({k: v for k, v in parameters.items() if k not in skip})
        if not skip:
            config_from_parameters(parameters)
        unknown = sorted(set(skip) - set(_known_names()))
        if unknown:
            raise ParameterError(f"unknown parameter(s) {unknown}; 05_walk_forward's parameters: "
                                 f"{', '.join(_known_names())}")
    except ParameterError as error:
        raise SweepFileError(f"{where}: {error}") from error


def _known_names() -> list[str]:
    from workbench.experiments._parameters import walk_forward_parameters

    return sorted(walk_forward_parameters())
