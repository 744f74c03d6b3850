"""The Tuner component: the stock Tuner's inputs, outputs and parameters plus those in
spec.py (budget, retune policy, parallel trials, warm start, search state), searched by
`components.tuner.executor`."""

from typing import Any, Dict, Optional

from tfx import types
from tfx.components.tuner import component as stock_tuner
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import trainer_pb2
from tfx.types import standard_artifacts
from tfx.utils import json_utils

from tfx_hypertune.components.tuner import executor, spec


class Tuner(stock_tuner.Tuner):
  """tfx.components.Tuner (the arguments this pipeline uses), searched by our executor.

  `max_epochs` and `max_trials` override custom_config's search budget and may be runtime
  parameters on Kubeflow; the `tuning` policy may reuse the latest search's best values,
  which the executor keeps under `search_state_dir` (tuning.py), instead of searching."""

  SPEC_CLASS = spec.TunerSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, examples: types.BaseChannel, transform_graph: types.BaseChannel,
               tuner_fn: str, train_args: trainer_pb2.TrainArgs,
               eval_args: trainer_pb2.EvalArgs, custom_config: Dict[str, Any],
               max_epochs: Optional[Any] = None, max_trials: Optional[Any] = None,
               tuning: Optional[str] = None, hyperparameters_file: Optional[str] = None,
               parallel_trials: Optional[int] = None, warm_start_trials: Optional[int] = None,
               search_state_dir: Optional[str] = None):
    component_spec = spec.TunerSpec(
        examples=examples, transform_graph=transform_graph, tuner_fn=tuner_fn,
        train_args=train_args, eval_args=eval_args,
        custom_config=json_utils.dumps(custom_config),
        max_epochs=max_epochs, max_trials=max_trials, tuning=tuning,
        hyperparameters_file=hyperparameters_file, parallel_trials=parallel_trials,
        warm_start_trials=warm_start_trials, search_state_dir=search_state_dir,
        best_hyperparameters=types.Channel(type=standard_artifacts.HyperParameters),
        tuner_results=types.Channel(type=standard_artifacts.TunerResults))
    # Skip the stock __init__: it builds the stock spec.
    base_component.BaseComponent.__init__(self, spec=component_spec)
