"""The Tuner component: the stock inputs, outputs and parameters plus three, searched by
`components.tuner.executor`.

Added to the stock TunerSpec:
- `max_epochs`, `max_trials`: the search budget as plain parameters, so a Kubeflow run can set
  them as runtime parameters (they override custom_config's search settings);
- `previous_hyperparameters`: the latest best hyperparameters of an earlier run (a resolver's
  output), which the tuning policy may reuse instead of searching.
"""

from typing import Any, Dict, Optional

from tfx import types
from tfx.components.tuner import component as stock_tuner
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import trainer_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.utils import json_utils

from components.tuner import executor

MAX_EPOCHS_KEY = executor.MAX_EPOCHS_KEY
MAX_TRIALS_KEY = executor.MAX_TRIALS_KEY
PREVIOUS_HYPERPARAMETERS_KEY = executor.PREVIOUS_HYPERPARAMETERS_KEY


class TunerSpec(standard_component_specs.TunerSpec):
  PARAMETERS = {
      **standard_component_specs.TunerSpec.PARAMETERS,
      MAX_EPOCHS_KEY: ExecutionParameter(type=int, optional=True),
      MAX_TRIALS_KEY: ExecutionParameter(type=int, optional=True),
  }
  INPUTS = {
      **standard_component_specs.TunerSpec.INPUTS,
      PREVIOUS_HYPERPARAMETERS_KEY: ChannelParameter(
          type=standard_artifacts.HyperParameters, optional=True),
  }


class Tuner(stock_tuner.Tuner):
  """tfx.components.Tuner (the arguments this pipeline uses), searched by our executor."""

  SPEC_CLASS = TunerSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, examples: types.BaseChannel, transform_graph: types.BaseChannel,
               tuner_fn: str, train_args: trainer_pb2.TrainArgs,
               eval_args: trainer_pb2.EvalArgs, custom_config: Dict[str, Any],
               max_epochs: Optional[Any] = None, max_trials: Optional[Any] = None,
               previous_hyperparameters: Optional[types.BaseChannel] = None):
    spec = TunerSpec(
        examples=examples, transform_graph=transform_graph, tuner_fn=tuner_fn,
        train_args=train_args, eval_args=eval_args,
        custom_config=json_utils.dumps(custom_config),
        max_epochs=max_epochs, max_trials=max_trials,
        previous_hyperparameters=previous_hyperparameters,
        best_hyperparameters=types.Channel(type=standard_artifacts.HyperParameters),
        tuner_results=types.Channel(type=standard_artifacts.TunerResults))
    # Skip the stock __init__: it builds the stock spec.
    base_component.BaseComponent.__init__(self, spec=spec)
