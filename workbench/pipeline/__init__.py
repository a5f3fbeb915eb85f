"""The research pipeline: a configuration in, a run folder out (config, out-of-sample predictions,
metrics, LightGBM models as text, SHAP values, figures, an HTML report and the run's status).

``Pipeline(config).run()`` composes public stages a notebook can call one by one::

    data = build_research_data(config)                  # features + triple-barrier labels
    folds = walk_forward(config, data)                  # every configured model, purged folds
    evaluation = evaluate(config, data, folds)          # RunMetrics + figures
    explanation = explain_fold(config, data, folds)     # SHAP of the last fold's model on its test rows
"""

from workbench.pipeline._config import (
    CVConfig,
    DataConfig,
    EvalConfig,
    LabelConfig,
    ModelConfig,
    ModelSpec,
    PipelineConfig,
)
from workbench.pipeline._dataset import ResearchData, build_research_data, open_dataset
from workbench.pipeline._evaluate import Evaluation, evaluate, ic_verdict
from workbench.pipeline._explain import Explanation, explain_fold, explain_model
from workbench.pipeline._fit import ConfigFitError, DatasetFit, check_fit
from workbench.pipeline._folder import (
    RunFolderError,
    RunIdentity,
    dataset_fingerprint,
    prepare_run_folder,
    read_status,
    run_identity,
    runs_root,
)
from workbench.pipeline._locate import locate_run, run_folders
from workbench.pipeline._metrics import RunMetrics
from workbench.pipeline._run import Pipeline, RunResult
from workbench.pipeline._walk import WalkForwardResult, walk_forward
from workbench.pipeline._write import write_run

__all__ = [
    "CVConfig",
    "ConfigFitError",
    "DataConfig",
    "DatasetFit",
    "EvalConfig",
    "Evaluation",
    "Explanation",
    "LabelConfig",
    "ModelConfig",
    "ModelSpec",
    "Pipeline",
    "PipelineConfig",
    "ResearchData",
    "RunFolderError",
    "RunIdentity",
    "RunMetrics",
    "RunResult",
    "WalkForwardResult",
    "build_research_data",
    "check_fit",
    "dataset_fingerprint",
    "evaluate",
    "explain_fold",
    "explain_model",
    "ic_verdict",
    "locate_run",
    "open_dataset",
    "prepare_run_folder",
    "read_status",
    "run_folders",
    "run_identity",
    "runs_root",
    "walk_forward",
    "write_run",
]
