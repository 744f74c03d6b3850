"""The Evaluator with the accuracy threshold as its own parameter.

TFMA's threshold lives inside the eval_config proto, and a runtime parameter cannot sit inside
a proto field, so the Kubeflow run could not change it. This Evaluator takes
`accuracy_threshold` as a plain float parameter (a runtime parameter on Kubeflow) and writes it
into the eval config's SparseCategoricalAccuracy threshold before the stock executor runs.
"""

from typing import Any, Dict, List, Optional

import tensorflow_model_analysis as tfma
from tfx import types
from tfx.components.evaluator import component as stock_component
from tfx.components.evaluator import executor as stock_executor
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import json_utils, proto_utils

ACCURACY_THRESHOLD_KEY = 'accuracy_threshold'
ACCURACY_METRIC = 'SparseCategoricalAccuracy'


class EvaluatorSpec(standard_component_specs.EvaluatorSpec):
  PARAMETERS = {
      **standard_component_specs.EvaluatorSpec.PARAMETERS,
      ACCURACY_THRESHOLD_KEY: ExecutionParameter(type=float, optional=True),
  }


def with_accuracy_threshold(eval_config_json: str, threshold: float) -> str:
  """The eval config with `threshold` as the accuracy metric's lower bound."""
  eval_config = proto_utils.json_to_proto(eval_config_json, tfma.EvalConfig())
  found = False
  for metrics_spec in eval_config.metrics_specs:
    for metric in metrics_spec.metrics:
      if metric.class_name == ACCURACY_METRIC:
        metric.threshold.value_threshold.lower_bound.value = threshold
        found = True
  if not found:
    raise ValueError(f'eval_config: no {ACCURACY_METRIC} metric to set the threshold on')
  return proto_utils.proto_to_json(eval_config)


class Executor(stock_executor.Executor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    threshold = exec_properties.get(ACCURACY_THRESHOLD_KEY)
    if threshold is not None:
      if not 0 <= float(threshold) <= 1:
        raise ValueError(f'accuracy_threshold: {threshold}: must be between 0 and 1')
      exec_properties = {**exec_properties, standard_component_specs.EVAL_CONFIG_KEY:
                         with_accuracy_threshold(
                             exec_properties[standard_component_specs.EVAL_CONFIG_KEY],
                             float(threshold))}
      print(f'  [Evaluator] accuracy threshold: {float(threshold)}', flush=True)
    super().Do(input_dict, output_dict, exec_properties)


class Evaluator(stock_component.Evaluator):
  """tfx.components.Evaluator (the arguments this pipeline uses) plus accuracy_threshold."""

  SPEC_CLASS = EvaluatorSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

  def __init__(self, examples: types.BaseChannel, model: types.BaseChannel,
               baseline_model: Optional[types.BaseChannel], example_splits: List[str],
               eval_config: tfma.EvalConfig, accuracy_threshold: Optional[Any] = None):
    spec = EvaluatorSpec(
        examples=examples, model=model, baseline_model=baseline_model,
        example_splits=json_utils.dumps(example_splits),
        fairness_indicator_thresholds=json_utils.dumps(None),
        eval_config=eval_config, accuracy_threshold=accuracy_threshold,
        evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
        blessing=types.Channel(type=standard_artifacts.ModelBlessing))
    # Skip the stock __init__: it builds the stock spec, without accuracy_threshold.
    base_beam_component.BaseBeamComponent.__init__(self, spec=spec)
