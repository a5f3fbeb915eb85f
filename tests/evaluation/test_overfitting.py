"""Selection-bias statistics: PSR and the expected maximum Sharpe against direct scipy formulas (and the
expected maximum against a Monte Carlo), the DSR against Bailey & López de Prado's worked example, PBO against a
slow loop over itertools.combinations, and the known answers on noise (PBO near 0.5, DSR insignificant) and on
one skilled strategy among noise (PBO near 0, DSR significant)."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from workbench.errors import DataValidationError
from workbench.evaluation import (
    BacktestOverfittingResult,
    deflated_sharpe_ratio,
    expected_maximum_sharpe,
    probabilistic_sharpe_ratio,
    probabilistic_sharpe_ratio_from_moments,
    probability_of_backtest_overfitting,
)

FAST = settings(max_examples=30, deadline=None)


def _direct_psr(returns: np.ndarray, benchmark: float) -> float:
    """PSR written out with scipy's moments: Φ((SR - SR*) sqrt(T - 1) / sqrt(1 - γ3 SR + (γ4 - 1)/4 SR²))."""
    sr = returns.mean() / returns.std(ddof=1)
    g3, g4 = stats.skew(returns), stats.kurtosis(returns, fisher=False)
    spread = math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(stats.norm.cdf((sr - benchmark) * math.sqrt(len(returns) - 1) / spread))


def _direct_expected_max(n: int, variance: float) -> float:
    """sqrt(V) ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e))), γ the Euler-Mascheroni constant."""
    gamma = 0.5772156649015329
    z = (1 - gamma) * stats.norm.ppf(1 - 1 / n) + gamma * stats.norm.ppf(1 - 1 / (n * math.e))
    return math.sqrt(variance) * z


def _slow_pbo(returns: np.ndarray, n_splits: int) -> dict[str, np.ndarray]:
    """CSCV by hand: every combination of half the blocks, Sharpe ratios of the stacked rows, rankdata ranks."""
    blocks = np.array_split(returns, n_splits)
    n_trials = returns.shape[1]
    out: dict[str, list] = {"logits": [], "best": [], "is": [], "oos": []}
    for chosen in itertools.combinations(range(n_splits), n_splits // 2):
        inside = np.vstack([blocks[k] for k in chosen])
        outside = np.vstack([blocks[k] for k in range(n_splits) if k not in chosen])
        is_sharpe = inside.mean(axis=0) / inside.std(axis=0, ddof=1)
        oos_sharpe = outside.mean(axis=0) / outside.std(axis=0, ddof=1)
        best = int(np.argmax(is_sharpe))
        omega = stats.rankdata(oos_sharpe)[best] / (n_trials + 1)
        out["logits"].append(math.log(omega / (1 - omega)))
        out["best"].append(best)
        out["is"].append(is_sharpe[best])
        out["oos"].append(oos_sharpe[best])
    return {key: np.array(values) for key, values in out.items()}


def _noise(seed: int, n_obs: int = 2000, n_trials: int = 20) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.01, size=(n_obs, n_trials))


# -- PSR and the expected maximum --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("benchmark", [0.0, 0.05, -0.02])
def test_psr_matches_the_direct_formula_on_skewed_fat_tailed_returns(seed: int, benchmark: float) -> None:
    rng = np.random.default_rng(seed)
    returns = 0.001 + 0.01 * (rng.standard_t(4, size=500) - 0.3 * rng.exponential(size=500))
    assert probabilistic_sharpe_ratio(returns, benchmark) == pytest.approx(_direct_psr(returns, benchmark), abs=1e-12)
    with_gaps = np.concatenate([returns[:200], [np.nan, np.nan], returns[200:]])
    assert probabilistic_sharpe_ratio(pd.Series(with_gaps), benchmark) == pytest.approx(
        _direct_psr(returns, benchmark), abs=1e-12)


def test_psr_is_one_half_at_the_benchmark_and_grows_with_the_sharpe_ratio_and_the_length() -> None:
    assert probabilistic_sharpe_ratio_from_moments(0.1, 250, -1.0, 6.0, benchmark_sharpe=0.1) == 0.5
    by_sharpe = [probabilistic_sharpe_ratio_from_moments(sr, 250, -1.0, 6.0) for sr in (-0.1, 0.0, 0.05, 0.1)]
    by_length = [probabilistic_sharpe_ratio_from_moments(0.05, n, -1.0, 6.0) for n in (20, 100, 500, 2000)]
    assert np.all(np.diff(by_sharpe) > 0) and np.all(np.diff(by_length) > 0)
    # negative skew and fat tails widen the estimate's error: less confidence than normal returns
    assert probabilistic_sharpe_ratio_from_moments(0.1, 250, -1.0, 6.0) < probabilistic_sharpe_ratio_from_moments(
        0.1, 250)
    normal = stats.norm.cdf(0.1 * math.sqrt(249) / math.sqrt(1 + 0.1**2 / 2))
    assert probabilistic_sharpe_ratio_from_moments(0.1, 250) == pytest.approx(normal, abs=1e-14)


@pytest.mark.parametrize("n_trials", [2, 10, 100, 1000])
@pytest.mark.parametrize("variance", [1e-4, 0.5])
def test_expected_maximum_matches_the_direct_formula(n_trials: int, variance: float) -> None:
    assert expected_maximum_sharpe(n_trials, variance) == pytest.approx(_direct_expected_max(n_trials, variance),
                                                                          rel=1e-14)


@pytest.mark.parametrize("n_trials", [10, 50, 200])
def test_expected_maximum_is_close_to_a_monte_carlo_of_the_best_of_n_noise_sharpes(n_trials: int) -> None:
    variance = 1.0 / 250  # the variance of the Sharpe ratio of 250 normal returns without skill
    draws = np.random.default_rng(n_trials).normal(0.0, math.sqrt(variance), size=(20_000, n_trials))
    simulated = draws.max(axis=1).mean()
    assert expected_maximum_sharpe(n_trials, variance) == pytest.approx(simulated, rel=0.03)


def test_one_trial_expects_its_mean_and_no_dispersion_expects_nothing() -> None:
    assert expected_maximum_sharpe(1, 0.3) == 0.0
    assert expected_maximum_sharpe(40, 0.0) == 0.0


# -- DSR ---------------------------------------------------------------------------------------------------------


def test_dsr_reproduces_the_papers_worked_example() -> None:
    """Bailey & López de Prado (2014), section 6: 100 trials, annualised Sharpe variance 1/2, the best with an
    annualised Sharpe of 2.5 over 1,250 daily returns of skew -3 and kurtosis 10: DSR 0.9004."""
    sr0 = expected_maximum_sharpe(100, 0.5 / 250)
    assert sr0 * math.sqrt(250) == pytest.approx(1.7894, abs=1e-4)
    dsr = probabilistic_sharpe_ratio_from_moments(2.5 / math.sqrt(250), 1250, -3.0, 10.0, benchmark_sharpe=sr0)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_dsr_is_the_psr_against_the_expected_maximum_from_either_input() -> None:
    matrix = _noise(3, n_obs=1500, n_trials=12) + np.linspace(0.0, 0.0008, 12)
    best = matrix[:, -1]
    sharpes = matrix.mean(axis=0) / matrix.std(axis=0, ddof=1)
    from_sharpes = deflated_sharpe_ratio(best, sharpes)
    from_returns = deflated_sharpe_ratio(best, trial_returns=pd.DataFrame(matrix))
    assert from_sharpes.to_dict() == pytest.approx(from_returns.to_dict(), rel=1e-12)
    sr0 = _direct_expected_max(12, float(np.var(sharpes, ddof=1)))
    assert from_sharpes.sr0 == pytest.approx(sr0, rel=1e-12)
    assert float(from_sharpes) == from_sharpes.dsr == pytest.approx(_direct_psr(best, sr0), abs=1e-12)
    assert (from_sharpes.n_trials, from_sharpes.n_obs) == (12, 1500)
    assert from_sharpes.kurtosis == pytest.approx(stats.kurtosis(best, fisher=False), rel=1e-12)
    # the deflation: the same record is less convincing as the best of many than on its own
    assert from_sharpes.dsr < probabilistic_sharpe_ratio(best)


def test_dsr_of_the_best_of_noise_is_rarely_significant() -> None:
    results, undeflated = [], []
    for seed in range(20):
        matrix = _noise(seed)
        best = matrix[:, matrix.mean(axis=0).argmax()]
        results.append(deflated_sharpe_ratio(best, trial_returns=matrix))
        undeflated.append(probabilistic_sharpe_ratio(best))
    assert sum(r.significant() for r in results) <= 3  # 1 expected at 5 %
    assert np.median([r.dsr for r in results]) < 0.8
    assert sum(p >= 0.95 for p in undeflated) >= 10  # taken alone, the best of 20 looks skilled most of the time


def test_dsr_of_a_skilled_strategy_among_noise_is_significant() -> None:
    matrix = _noise(7)
    matrix[:, 4] += 0.0015  # a per-period Sharpe of 0.15
    result = deflated_sharpe_ratio(matrix[:, 4], trial_returns=matrix)
    assert result.significant() and result.significant(alpha=0.001)
    assert result.sharpe > result.sr0 > 0


# -- PBO ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_obs", "n_trials", "n_splits"), [(40, 5, 4), (61, 7, 6), (101, 3, 8), (16, 2, 2)])
def test_pbo_matches_a_slow_loop_over_the_combinations(n_obs: int, n_trials: int, n_splits: int) -> None:
    rng = np.random.default_rng(n_obs)
    returns = rng.normal(0.0002, 0.01, size=(n_obs, n_trials)) + rng.normal(0, 0.002, size=n_trials)
    result = probability_of_backtest_overfitting(returns, n_splits=n_splits)
    slow = _slow_pbo(returns, n_splits)
    assert result.n_combinations == len(slow["logits"]) == math.comb(n_splits, n_splits // 2)
    np.testing.assert_array_equal(result.best_trials, slow["best"])
    np.testing.assert_allclose(result.logits, slow["logits"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.is_metric, slow["is"], rtol=1e-10)
    np.testing.assert_allclose(result.oos_metric, slow["oos"], rtol=1e-10)
    assert result.pbo == pytest.approx(np.mean(slow["logits"] <= 0), abs=1e-12)
    assert result.probability_of_loss == np.mean(slow["oos"] < 0)


def test_a_metric_function_gives_what_the_block_sums_give() -> None:
    returns = np.random.default_rng(5).normal(0.0, 0.01, size=(60, 6))

    def sharpe(rows: np.ndarray) -> np.ndarray:
        return rows.mean(axis=0) / rows.std(axis=0, ddof=1)

    fast = probability_of_backtest_overfitting(returns, n_splits=6)
    slow = probability_of_backtest_overfitting(returns, n_splits=6, metric=sharpe)
    np.testing.assert_array_equal(fast.best_trials, slow.best_trials)
    np.testing.assert_allclose(fast.logits, slow.logits, atol=1e-12)
    np.testing.assert_allclose(fast.oos_metric, slow.oos_metric, rtol=1e-10)
    assert slow.metric == "sharpe"
    total = probability_of_backtest_overfitting(returns, n_splits=6, metric=lambda rows: rows.sum(axis=0))
    assert not np.array_equal(total.oos_metric, fast.oos_metric)


def test_pbo_of_noise_is_near_one_half() -> None:
    results = [probability_of_backtest_overfitting(_noise(seed), n_splits=16) for seed in range(6)]
    assert 0.3 < np.mean([r.pbo for r in results]) < 0.7
    assert 0.3 < np.mean([r.probability_of_loss for r in results]) < 0.7


def test_pbo_of_one_skilled_strategy_among_noise_is_low() -> None:
    returns = _noise(11)
    returns[:, 9] += 0.0015
    result = probability_of_backtest_overfitting(pd.DataFrame(returns), n_splits=16)
    assert result.pbo < 0.1 and result.probability_of_loss < 0.05
    assert np.mean(result.best_trials == 9) > 0.9


def test_nan_rows_are_dropped_and_other_nan_count_as_flat() -> None:
    returns = np.random.default_rng(2).normal(0.0, 0.01, size=(48, 4))
    gapped = np.insert(returns, [5, 20, 20], np.nan, axis=0)
    flat = returns.copy()
    flat[[3, 30], 1] = 0.0
    holes = gapped.copy()
    holes[np.flatnonzero(~np.isnan(gapped).all(axis=1))[[3, 30]], 1] = np.nan
    expected = probability_of_backtest_overfitting(flat, n_splits=4)
    result = probability_of_backtest_overfitting(holes, n_splits=4)
    assert result.n_obs == 48
    np.testing.assert_array_equal(result.logits, expected.logits)
    np.testing.assert_array_equal(result.oos_metric, expected.oos_metric)
    never_traded = np.column_stack([returns, np.full(48, np.nan)])  # an all-NaN trial is a flat one: Sharpe 0
    assert probability_of_backtest_overfitting(never_traded, n_splits=4).n_trials == 5


def test_pbo_on_5000_rows_of_50_trials_with_16_splits_is_fast() -> None:
    returns = np.random.default_rng(0).normal(0.0, 0.01, size=(5000, 50))
    start = time.perf_counter()
    result = probability_of_backtest_overfitting(returns, n_splits=16)
    assert time.perf_counter() - start < 3.0  # about 0.2 s; the bound only catches a per-combination loop
    assert result.n_combinations == 12_870 and result.logits.shape == (12_870,)


@FAST
@given(seed=st.integers(0, 2**32 - 1), n_trials=st.integers(2, 7), half=st.integers(1, 3),
       rows_per_block=st.integers(2, 6), data=st.data())
def test_pbo_is_a_probability_invariant_to_column_order_and_scale(seed: int, n_trials: int, half: int,
                                                                  rows_per_block: int, data: st.DataObject) -> None:
    n_splits = 2 * half
    rng = np.random.default_rng(seed)
    returns = rng.normal(rng.normal(0, 0.003, size=n_trials), 0.01, size=(n_splits * rows_per_block + rng.integers(
        0, n_splits), n_trials))
    order = data.draw(st.permutations(range(n_trials)))
    scale = data.draw(st.floats(1e-3, 1e3))
    result = probability_of_backtest_overfitting(returns, n_splits=n_splits)
    assert isinstance(result, BacktestOverfittingResult) and 0.0 <= result.pbo <= 1.0
    assert np.all((result.oos_ranks > 0) & (result.oos_ranks < 1))
    permuted = probability_of_backtest_overfitting(returns[:, order], n_splits=n_splits)
    np.testing.assert_array_equal(permuted.logits, result.logits)
    np.testing.assert_array_equal(np.asarray(order)[permuted.best_trials], result.best_trials)
    scaled = probability_of_backtest_overfitting(returns * scale, n_splits=n_splits)
    assert scaled.pbo == result.pbo
    np.testing.assert_allclose(scaled.is_metric, result.is_metric, rtol=1e-9)


# -- refusals ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("returns", "n_splits", "message"), [
    (np.zeros((40, 1)), 4, "at least 2 columns"),
    (np.zeros((40, 3)), 5, "must be even.*use 4 or 6"),
    (np.zeros((400, 3)), 22, "705,432 combinations; use at most 20"),
    (np.zeros((40, 3)), 0, "even integer >= 2"),
    (np.zeros((15, 3)), 8, "15 usable row.*use n_splits <= 6"),
    (np.zeros(40), 4, "must be 2-D"),
    (np.full((40, 3), np.inf), 4, "infinite"),
])
def test_pbo_refuses_bad_input_naming_the_fix(returns: np.ndarray, n_splits: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        probability_of_backtest_overfitting(returns, n_splits=n_splits)


def test_refusals_of_the_sharpe_statistics() -> None:
    with pytest.raises(DataValidationError, match="constant"):
        probabilistic_sharpe_ratio(np.full(30, 0.01))
    with pytest.raises(ValueError, match="below 1 \\+ skew"):
        probabilistic_sharpe_ratio_from_moments(0.1, 100, skew=0.0, kurtosis=0.0)
    with pytest.raises(ValueError, match="n_obs"):
        probabilistic_sharpe_ratio_from_moments(0.1, 1)
    with pytest.raises(ValueError, match="n_trials"):
        expected_maximum_sharpe(0, 0.1)
    with pytest.raises(ValueError, match="exactly one"):
        deflated_sharpe_ratio(np.ones(5))
    with pytest.raises(ValueError, match="at least 2 trials"):
        deflated_sharpe_ratio(np.arange(5.0), np.array([0.3]))
    with pytest.raises(ValueError, match="alpha"):
        deflated_sharpe_ratio(np.arange(5.0), np.array([0.3, 0.1])).significant(alpha=1.0)
