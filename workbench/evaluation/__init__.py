"""Evaluation of out-of-sample predictions on a (ts, ticker) panel: pooled classification metrics and
calibration, cross-sectional skill per minute (IC, precision@k), and a top-k backtest accounted by vectorbt."""

from workbench.evaluation._backtest import (
    MINUTES_PER_YEAR,
    BacktestResult,
    backtest_top_k,
    buy_and_hold,
    equity_figure,
    max_drawdown,
    sharpe_ratio,
)
from workbench.evaluation._classification import calibration_figure, calibration_table, classification_report
from workbench.evaluation._cross_section import (
    ICResult,
    PrecisionAtKResult,
    information_coefficient,
    newey_west_lags,
    newey_west_t_stat,
    precision_at_k,
)
from workbench.evaluation._execution import (
    DEFAULT_EXECUTION,
    FILL_PRICES,
    IMPACT_WINDOW,
    SPREAD_MODES,
    Execution,
    MarketPrices,
)
from workbench.evaluation._loss_test import LossTestResult, paired_loss_test
from workbench.evaluation._overfitting import (
    BacktestOverfittingResult,
    DeflatedSharpeResult,
    deflated_sharpe_ratio,
    expected_maximum_sharpe,
    probabilistic_sharpe_ratio,
    probabilistic_sharpe_ratio_from_moments,
    probability_of_backtest_overfitting,
)
from workbench.evaluation._sensitivity import SENSITIVITY_COLUMNS, execution_sensitivity, sensitivity_figure

__all__ = [
    "DEFAULT_EXECUTION",
    "FILL_PRICES",
    "IMPACT_WINDOW",
    "SENSITIVITY_COLUMNS",
    "SPREAD_MODES",
    "Execution",
    "MarketPrices",
    "execution_sensitivity",
    "sensitivity_figure",
    "MINUTES_PER_YEAR",
    "BacktestResult",
    "ICResult",
    "LossTestResult",
    "PrecisionAtKResult",
    "backtest_top_k",
    "buy_and_hold",
    "calibration_figure",
    "calibration_table",
    "classification_report",
    "equity_figure",
    "information_coefficient",
    "max_drawdown",
    "newey_west_lags",
    "newey_west_t_stat",
    "paired_loss_test",
    "precision_at_k",
    "sharpe_ratio",
    "BacktestOverfittingResult",
    "DeflatedSharpeResult",
    "deflated_sharpe_ratio",
    "expected_maximum_sharpe",
    "probabilistic_sharpe_ratio",
    "probabilistic_sharpe_ratio_from_moments",
    "probability_of_backtest_overfitting",
]
