"""The research pipeline: a configuration in, a run folder out (config, out-of-sample predictions,
metrics, LightGBM models as text, SHAP values, figures and an HTML report)."""

from workbench.pipeline._config import CVConfig, DataConfig, EvalConfig, LabelConfig, ModelConfig, PipelineConfig
from workbench.pipeline._dataset import ResearchData, build_research_data
from workbench.pipeline._fit import ConfigFitError, DatasetFit, check_fit
from workbench.pipeline._run import Pipeline, RunResult, runs_root

__all__ = [
    "CVConfig",
    "ConfigFitError",
    "DataConfig",
    "DatasetFit",
    "EvalConfig",
    "LabelConfig",
    "ModelConfig",
    "Pipeline",
    "PipelineConfig",
    "ResearchData",
    "RunResult",
    "build_research_data",
    "check_fit",
    "runs_root",
]
