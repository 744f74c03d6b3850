"""The Evaluator with a blessing rule that fits any data, and a baseline only of the same data.

A model is blessed when, on the held-out test split,
- its accuracy beats always predicting the training split's most common class: it must make
  at least MIN_ERROR_CUT (10%) fewer errors than that rule, i.e. reach
  majority + 0.1 * (1 - majority) (digits: 0.10 -> 0.19; a 90/10 table: 0.90 -> 0.91);
- it reaches `accuracy_threshold`, when the user sets one (an absolute floor; 0: none);
- it is no worse than the last blessed model (the baseline) by more than max_accuracy_drop.
When the training split's most common class holds more than 90% of its rows
(class_balance.IMBALANCED_SHARE), accuracy rewards always predicting it, so the rule uses
balanced accuracy (the mean of the per-class recalls; always predicting one class scores 1/k)
instead: 10% fewer balanced errors than that, and no worse than the baseline's balanced accuracy
by more than max_accuracy_drop; the user's accuracy floor still applies. Balanced accuracy (and
AUC, for two classes) is reported for every classification.
A regression model (task: regression) is blessed by its RMSE instead: at least 10% less squared
error than always predicting the training split's mean label, under `rmse_threshold` when the
user sets one, and no more than max_rmse_increase (relative) above the baseline's.

TFMA's threshold lives inside the eval_config proto, and a runtime parameter cannot sit inside
a proto field, so `accuracy_threshold` and `rmse_threshold` are plain parameters (runtime
parameters on Kubeflow); this executor writes the stricter bound (the larger accuracy floor,
or the smaller RMSE ceiling) into the eval config before the stock executor runs, and records
which rule decided, with both numbers, on the blessing artifact (`blessing_rule`).

The baseline is found by this executor, not by the orchestrator: it is the newest whole model
(serving.py's rule; among the MAX_VERSIONS_EXAMINED newest versions) in the Pusher's
destination (`baseline_dir`) that was trained on the same data as the candidate (the
same raw request: features and their types, the label). The Pusher writes only blessed models,
each into <baseline_dir>/<version> with a larger version each time, so that is the last blessed
model of this dataset, on every orchestrator alike (open-source KFP has no resolver executors to
ask ML Metadata: kubeflow/README.md). Models trained on other data are passed over, with a line
saying so: comparing them fails inside TFMA, and would mean nothing if it did not.
"""

import json
import posixpath
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Tuple

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx import types
from tfx.components.evaluator import component as stock_component
from tfx.components.evaluator import executor as stock_executor
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tfx.utils import io_utils, json_utils, proto_utils

from tfx_hypertune.components import class_balance, log, serving

ACCURACY_THRESHOLD_KEY = 'accuracy_threshold'
LABEL_KEY = 'label'
TASK_KEY = 'task'  # classification (default) | regression
RMSE_THRESHOLD_KEY = 'rmse_threshold'  # regression: an optional ceiling on RMSE (0: none)
RMSE_METRIC = 'RootMeanSquaredError'
RMSE_KEY = 'root_mean_squared_error'  # its name in TFMA's results
MAE_METRIC = 'MeanAbsoluteError'
MAE_KEY = 'mean_absolute_error'
CODE_VERSION_KEY = 'code_version'  # a hash of this code: a change re-runs the Evaluator
BASELINE_DIR_KEY = 'baseline_dir'  # the Pusher's destination: where the baseline is found
BASELINE_URI_PROPERTY = 'baseline_model_uri'  # on the blessing: the pushed model compared with
BASELINE_ID_PROPERTY = 'baseline_model_id'  # set by the stock executor from the artifact id
BASELINE_FILE = 'baseline.json'  # in the evaluation: which pushed model was the baseline
# How many of the newest pushed versions to look through for one of the same data.
MAX_VERSIONS_EXAMINED = 50
ACCURACY_METRIC = 'SparseCategoricalAccuracy'
ACCURACY_KEY = 'sparse_categorical_accuracy'  # its name in TFMA's results
EXAMPLE_COUNT_METRIC = 'ExampleCount'
BALANCED_ACCURACY_METRIC = 'ArgmaxBalancedAccuracy'  # defined below, computed by TFMA
BALANCED_ACCURACY_KEY = 'balanced_accuracy'
AUC_METRIC = 'AUC'  # TFMA's, on the second class's probability (two classes)
AUC_KEY = 'auc'
RULE_PROPERTY = 'blessing_rule'  # on the blessing artifact: which rule decided, with numbers
MIN_ERROR_CUT = 0.1
# Where the Trainer's SavedModel records its raw request (model/network.py).
REQUEST_SPEC_FILE = posixpath.join('assets.extra', 'request_spec.json')


class EvaluatorSpec(standard_component_specs.EvaluatorSpec):
  PARAMETERS = {
      **standard_component_specs.EvaluatorSpec.PARAMETERS,
      ACCURACY_THRESHOLD_KEY: ExecutionParameter(type=float, optional=True),
      LABEL_KEY: ExecutionParameter(type=str, optional=True),
      CODE_VERSION_KEY: ExecutionParameter(type=str, optional=True),
      BASELINE_DIR_KEY: ExecutionParameter(type=str, optional=True),
      TASK_KEY: ExecutionParameter(type=str, optional=True),
      RMSE_THRESHOLD_KEY: ExecutionParameter(type=float, optional=True),
  }


def with_accuracy_threshold(eval_config_json: str, threshold: float) -> str:
  """The eval config with `threshold` as the accuracy metric's lower bound."""
  return with_metric_bound(eval_config_json, ACCURACY_METRIC, 'lower_bound', threshold)


def with_metric_bound(eval_config_json: str, metric_name: str, bound: str,
                      value: float) -> str:
  """The eval config with `value` as `metric_name`'s lower_bound or upper_bound."""
  eval_config = proto_utils.json_to_proto(eval_config_json, tfma.EvalConfig())
  found = False
  for metrics_spec in eval_config.metrics_specs:
    for metric in metrics_spec.metrics:
      if metric.class_name == metric_name:
        getattr(metric.threshold.value_threshold, bound).value = value
        found = True
  if not found:
    raise ValueError(f'eval_config: no {metric_name} metric to set the threshold on')
  return proto_utils.proto_to_json(eval_config)


def with_class_metrics(eval_config_json: str, num_classes: int, imbalanced: bool,
                       floor: float, required_balanced: float) -> str:
  """The eval config with balanced accuracy beside accuracy, and AUC for two classes. For an
  imbalanced label the thresholds move to balanced accuracy: its floor (`required_balanced`)
  and the baseline comparison; accuracy keeps only the user's floor."""
  eval_config = proto_utils.json_to_proto(eval_config_json, tfma.EvalConfig())
  for metrics_spec in eval_config.metrics_specs:
    accuracy = next((m for m in metrics_spec.metrics if m.class_name == ACCURACY_METRIC), None)
    if accuracy is None:
      continue
    balanced = metrics_spec.metrics.add(class_name=BALANCED_ACCURACY_METRIC, module=__name__)
    if imbalanced:
      balanced.threshold.value_threshold.lower_bound.value = required_balanced
      if accuracy.threshold.HasField('change_threshold'):
        balanced.threshold.change_threshold.CopyFrom(accuracy.threshold.change_threshold)
        accuracy.threshold.ClearField('change_threshold')
      accuracy.threshold.value_threshold.lower_bound.value = floor
  if num_classes == 2:
    eval_config.metrics_specs.add(
        metrics=[tfma.MetricConfig(class_name=AUC_METRIC)],
        binarize=tfma.BinarizationOptions(class_ids={'values': [1]}))
  return proto_utils.proto_to_json(eval_config)


class ArgmaxBalancedAccuracy(metric_types.Metric):
  """Balanced accuracy for TFMA: the mean over the classes present in the labels of the share
  of each class's rows whose highest-probability class is theirs. The same number as the
  model's own `balanced_accuracy` (model/metrics.py) and scikit-learn's balanced_accuracy_score.
  TFMA's BalancedAccuracy is binary, and its macro-averaged Recall thresholds each class's
  probability at 0.5 instead of taking the argmax."""

  def __init__(self, name: str = BALANCED_ACCURACY_KEY):
    super().__init__(metric_util.merge_per_key_computations(_balanced_accuracy), name=name)


metric_types.register_metric(ArgmaxBalancedAccuracy)


def _balanced_accuracy(name: str, eval_config=None, model_name: str = '',
                       output_name: str = '', sub_key=None, aggregation_type=None,
                       class_weights=None, example_weighted: bool = False):
  key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                               sub_key=sub_key, example_weighted=example_weighted)
  return [metric_types.MetricComputation(
      keys=[key], preprocessors=None,
      combiner=_BalancedAccuracyCombiner(key, eval_config, example_weighted))]


class _BalancedAccuracyCombiner(beam.CombineFn):
  """Accumulates {class id: [rows, rows predicted as their class]}."""

  def __init__(self, key, eval_config, example_weighted: bool):
    self._key = key
    self._eval_config = eval_config
    self._example_weighted = example_weighted

  def create_accumulator(self) -> Dict[int, List[float]]:
    return {}

  def add_input(self, accumulator: Dict[int, List[float]], element) -> Dict[int, List[float]]:
    for label, prediction, weight in metric_util.to_label_prediction_example_weight(
        element, eval_config=self._eval_config, model_name=self._key.model_name,
        output_name=self._key.output_name, example_weighted=self._example_weighted,
        flatten=False):  # the label and all class probabilities together, not per class
      class_id = int(np.asarray(label).reshape(-1)[0])
      weight = float(metric_util.safe_to_scalar(weight))
      counts = accumulator.setdefault(class_id, [0.0, 0.0])
      counts[0] += weight
      counts[1] += weight * (int(np.argmax(np.asarray(prediction).reshape(-1))) == class_id)
    return accumulator

  def merge_accumulators(self, accumulators: Iterable[Dict[int, List[float]]]
                         ) -> Dict[int, List[float]]:
    merged: Dict[int, List[float]] = {}
    for accumulator in accumulators:
      for class_id, (rows, hits) in accumulator.items():
        counts = merged.setdefault(class_id, [0.0, 0.0])
        counts[0] += rows
        counts[1] += hits
    return merged

  def extract_output(self, accumulator: Dict[int, List[float]]) -> Dict[Any, float]:
    recalls = [hits / rows for rows, hits in accumulator.values() if rows]
    return {self._key: sum(recalls) / len(recalls) if recalls else float('nan')}


def label_counts(examples_uri: str, split: str, label: str) -> Counter:
  """How often each label value occurs in a split of an Examples artifact (gzipped TFRecords
  of tf.Examples, ExampleGen's output)."""
  files = fileio.glob(posixpath.join(examples_uri, f'Split-{split}', '*'))
  counts: Counter = Counter()
  for record in tf.data.TFRecordDataset(files, compression_type='GZIP').as_numpy_iterator():
    feature = tf.train.Example.FromString(record).features.feature.get(label)
    if feature is None:
      continue
    values = feature.int64_list.value or feature.bytes_list.value or feature.float_list.value
    if values:
      counts[values[0]] += 1
  return counts


def majority_rate(train: Counter, test: Counter) -> Tuple[float, Any]:
  """Accuracy on test of always predicting train's most common label; and that label."""
  if not train or not test:
    return 0.0, None
  majority = class_balance.majority(train)[0]
  return test[majority] / sum(test.values()), majority


def required_accuracy(majority: float, floor: float) -> float:
  return max(majority + MIN_ERROR_CUT * (1 - majority), floor)


def training_mean_rmse(train: Counter, test: Counter) -> Tuple[float, float]:
  """(RMSE on test of always predicting train's mean label, that mean): the regression twin
  of the majority class."""
  if not train or not test:
    return float('inf'), 0.0
  mean = sum(float(v) * n for v, n in train.items()) / sum(train.values())
  squared = sum(n * (float(v) - mean) ** 2 for v, n in test.items()) / sum(test.values())
  return squared ** 0.5, mean


def allowed_rmse(mean_rmse: float, ceiling: float) -> float:
  """At least MIN_ERROR_CUT (10%) less squared error than predicting the training mean (an R^2
  of 0.1 on test), and under the user's ceiling when set."""
  allowed = (1 - MIN_ERROR_CUT) ** 0.5 * mean_rmse
  return min(allowed, ceiling) if ceiling else allowed


def request_spec(model_uri: str) -> Optional[Dict[str, Any]]:
  """The raw request a pushed or trained model takes, or None if it does not say."""
  for candidate in (posixpath.join(model_uri, 'Format-Serving', REQUEST_SPEC_FILE),
                    posixpath.join(model_uri, REQUEST_SPEC_FILE)):
    if fileio.exists(candidate):
      with fileio.open(candidate, 'r') as f:
        return json.loads(f.read())
  return None


def same_data(candidate_uri: str, baseline_uri: str) -> bool:
  candidate, baseline = request_spec(candidate_uri), request_spec(baseline_uri)
  return candidate is not None and candidate == baseline


def pushed_versions(baseline_dir: str) -> List[str]:
  """The pushed models under a push destination, newest first (serving.py's rule)."""
  return serving.model_versions(baseline_dir, limit=MAX_VERSIONS_EXAMINED)


def find_baseline(candidate_uri: str, baseline_dir: str) -> Tuple[Optional[str], str]:
  """(the newest pushed model of the candidate's data or None, a note saying what was found)."""
  versions = pushed_versions(baseline_dir)
  if not versions:
    return None, 'no earlier blessed model'
  for version in versions:
    if same_data(candidate_uri, version):
      skipped = versions.index(version)
      return version, (f'compared with the last blessed model ({version})'
                       + (f'; {skipped} newer pushed model(s) of other data passed over'
                          if skipped else ''))
  return None, (f'the last blessed models in {baseline_dir} were trained on other data '
                f'(features or label differ): no comparison')


def staged_baseline(pushed_uri: str, staging_dir: str) -> types.Artifact:
  """A Model artifact for the stock executor, which reads <uri>/Format-Serving: a copy of the
  pushed SavedModel (a few files; local or in the same bucket)."""
  model = standard_artifacts.Model()
  model.uri = posixpath.join(staging_dir, 'baseline_model')
  io_utils.copy_dir(pushed_uri, posixpath.join(model.uri, 'Format-Serving'))
  return model


class Executor(stock_executor.Executor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    examples_uri = artifact_utils.get_single_uri(input_dict[standard_component_specs.EXAMPLES_KEY])
    label = exec_properties.get(LABEL_KEY)
    counts = ((label_counts(examples_uri, 'train', label),
               label_counts(examples_uri, 'test', label)) if label else (Counter(), Counter()))
    if (exec_properties.get(TASK_KEY) or 'classification') == 'regression':
      rule = _RegressionRule(counts, float(exec_properties.get(RMSE_THRESHOLD_KEY) or 0.0))
    else:
      rule = _ClassificationRule(counts, float(exec_properties.get(ACCURACY_THRESHOLD_KEY) or 0.0))
    exec_properties = {**exec_properties, standard_component_specs.EVAL_CONFIG_KEY:
                       rule.eval_config(exec_properties[standard_component_specs.EVAL_CONFIG_KEY])}
    log.say(f'  [Evaluator] {rule.requirement()}')
    candidate = artifact_utils.get_single_uri(input_dict[standard_component_specs.MODEL_KEY])
    baseline_uri, baseline_note = find_baseline(candidate,
                                                exec_properties.get(BASELINE_DIR_KEY) or '')
    log.say(f'  [Evaluator] baseline: {baseline_note}')
    input_dict = {**input_dict, standard_component_specs.BASELINE_MODEL_KEY: (
        [staged_baseline(baseline_uri, self._get_tmp_dir())] if baseline_uri else [])}
    super().Do(input_dict, output_dict, exec_properties)
    blessing = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.BLESSING_KEY])
    evaluation_uri = artifact_utils.get_single_uri(
        output_dict[standard_component_specs.EVALUATION_KEY])
    if baseline_uri:  # the pushed model, not the staged copy the stock executor recorded
      blessing.set_string_custom_property(BASELINE_URI_PROPERTY, baseline_uri)
      # The staged copy has no ML Metadata id (0); TFX's Kubeflow entrypoint would fail to
      # translate it into an artifact name, and it would name nothing anyway.
      properties = blessing.mlmd_artifact.custom_properties
      if BASELINE_ID_PROPERTY in properties:
        del properties[BASELINE_ID_PROPERTY]
    io_utils.write_string_file(posixpath.join(evaluation_uri, BASELINE_FILE), json.dumps(
        {'baseline_model': baseline_uri, 'note': baseline_note}, indent=1))
    blessing.set_string_custom_property(RULE_PROPERTY, rule.describe(
        blessing.get_int_custom_property('blessed') == 1, evaluation_uri, baseline_note))


class _ClassificationRule:
  """Beat always predicting the majority class (10% fewer errors), and the user's floor; for
  an imbalanced label, by balanced accuracy (10% fewer balanced errors than 1/classes)."""

  def __init__(self, counts: Tuple[Counter, Counter], floor: float):
    if not 0 <= floor <= 1:
      raise ValueError(f'accuracy_threshold: {floor}: must be between 0 and 1')
    self.floor = floor
    self.majority, self.majority_label = majority_rate(*counts)
    self.required = required_accuracy(self.majority, floor)
    train = counts[0]
    self.num_classes = len(train)
    self.imbalanced = class_balance.is_imbalanced(train)
    self.majority_share = class_balance.majority(train)[1]
    # Always predicting one class recalls all of it and none of the others: 1/classes.
    self.chance_balanced = 1 / self.num_classes if self.num_classes else 0.0
    self.required_balanced = required_accuracy(self.chance_balanced, 0.0)

  def eval_config(self, eval_config_json: str) -> str:
    with_metrics = with_class_metrics(eval_config_json, self.num_classes, self.imbalanced,
                                      self.floor, self.required_balanced)
    return (with_metrics if self.imbalanced
            else with_accuracy_threshold(with_metrics, self.required))

  def requirement(self) -> str:
    if self.imbalanced:
      return (f'balanced accuracy to reach: {self.required_balanced:.4f} (the majority class '
              f'holds {self.majority_share:.1%} of the training rows: always predicting it '
              f'scores accuracy {self.majority:.4f} but balanced accuracy '
              f'{self.chance_balanced:.4f}; accuracy floor {self.floor})')
    return (f'accuracy to reach: {self.required:.4f} (always predicting the majority class '
            f'scores {self.majority:.4f}; floor {self.floor})')

  def describe(self, blessed: bool, evaluation_uri: str, baseline_note: str) -> str:
    if self.imbalanced:
      return self._describe_imbalanced(blessed, evaluation_uri, baseline_note)
    return describe_rule(blessed, evaluation_uri, self.required, self.majority,
                         self.majority_label, self.floor, baseline_note)

  def _describe_imbalanced(self, blessed: bool, evaluation_uri: str, baseline_note: str) -> str:
    metrics = overall_metrics(evaluation_uri)
    balanced, baseline = metrics.get(BALANCED_ACCURACY_KEY, (None, None))
    if balanced is None:
      return 'no balanced accuracy computed'
    accuracy, _ = metrics.get(ACCURACY_KEY, (None, None))
    label = _readable(self.majority_label)
    rule = (f'balanced accuracy {balanced:.4f} vs {self.required_balanced:.4f} needed (class '
            f'{label} holds {self.majority_share:.1%} of the training rows: always predicting it '
            f'scores balanced accuracy {self.chance_balanced:.4f}, accuracy {self.majority:.4f}; '
            f'{MIN_ERROR_CUT:.0%} fewer balanced errors than that)')
    if accuracy is not None:
      rule += f'; accuracy {accuracy:.4f}' + (
          f' vs the floor accuracy_threshold={self.floor}' if self.floor else '')
    rule += (f'; last blessed model {baseline:.4f}' if baseline is not None
             else f'; {baseline_note}')
    return ('yes: ' if blessed else 'no: ') + rule


class _RegressionRule:
  """Beat always predicting the training mean (10% less squared error), and the ceiling."""

  def __init__(self, counts: Tuple[Counter, Counter], ceiling: float):
    if ceiling < 0:
      raise ValueError(f'rmse_threshold: {ceiling}: must be positive (0: none)')
    self.ceiling = ceiling
    self.mean_rmse, self.train_mean = training_mean_rmse(*counts)
    self.allowed = allowed_rmse(self.mean_rmse, ceiling)

  def eval_config(self, eval_config_json: str) -> str:
    return with_metric_bound(eval_config_json, RMSE_METRIC, 'upper_bound', self.allowed)

  def requirement(self) -> str:
    return (f'RMSE to stay under: {self.allowed:.4f} (always predicting the training mean '
            f'{self.train_mean:.4f} scores {self.mean_rmse:.4f}; ceiling {self.ceiling or "none"})')

  def describe(self, blessed: bool, evaluation_uri: str, baseline_note: str) -> str:
    metrics = overall_metrics(evaluation_uri)
    rmse, baseline = metrics.get(RMSE_KEY, (None, None))
    if rmse is None:
      return 'no RMSE computed'
    mae, _ = metrics.get(MAE_KEY, (None, None))
    rule = (f'RMSE {rmse:.4f} (MAE {mae:.4f}) vs {self.allowed:.4f} allowed '
            + (f'(the ceiling rmse_threshold={self.ceiling})' if self.allowed == self.ceiling
               else f'(always predicting the training mean {self.train_mean:.4f} scores '
                    f'{self.mean_rmse:.4f}; {MIN_ERROR_CUT:.0%} less squared error than that)'))
    rule += (f'; last blessed model {baseline:.4f}' if baseline is not None
             else f'; {baseline_note}')
    return ('yes: ' if blessed else 'no: ') + rule


def candidate_and_baseline_accuracy(evaluation_uri: str) -> Tuple[Optional[float],
                                                                  Optional[float]]:
  """(candidate, baseline) accuracy on the overall slice of an evaluation; None if absent."""
  return candidate_and_baseline(evaluation_uri, ACCURACY_KEY)


def candidate_and_baseline(evaluation_uri: str, metric_key: str) -> Tuple[Optional[float],
                                                                        Optional[float]]:
  """(candidate, baseline) value of a metric (TFMA's name) on the overall slice; None if
  absent."""
  return overall_metrics(evaluation_uri).get(metric_key, (None, None))


def overall_metrics(evaluation_uri: str) -> Dict[str, Tuple[Optional[float], Optional[float]]]:
  """{TFMA metric name: (candidate, baseline)} on the overall slice, read once; None where a
  model has no value."""
  values: Dict[str, List[Optional[float]]] = {}
  for metrics in tfma.load_metrics(evaluation_uri):
    if metrics.slice_key.single_slice_keys:
      continue
    for item in metrics.metric_keys_and_values:
      key = item.key
      if key.is_diff:
        continue
      pair = values.setdefault(key.name, [None, None])
      pair[1 if key.model_name == 'baseline' else 0] = item.value.double_value.value
  return {name: (candidate, baseline) for name, (candidate, baseline) in values.items()}


def describe_rule(blessed: bool, evaluation_uri: str, required: float, majority: float,
                  majority_label: Any, floor: float, baseline_note: str) -> str:
  """One line: blessed or not, and by which rule, with both numbers."""
  accuracy, baseline = candidate_and_baseline_accuracy(evaluation_uri)
  if accuracy is None:
    return 'no accuracy computed'
  label = _readable(majority_label)
  rule = (f'accuracy {accuracy:.4f} vs {required:.4f} needed '
          + (f'(the floor accuracy_threshold={floor})' if required == floor and floor else
             f'(always predicting class {label} scores {majority:.4f}; '
             f'{MIN_ERROR_CUT:.0%} fewer errors than that)'))
  if baseline is not None:
    rule += f'; last blessed model {baseline:.4f}'
  else:
    rule += f'; {baseline_note}'
  return ('yes: ' if blessed else 'no: ') + rule


def _readable(label: Any) -> Any:
  return label.decode() if isinstance(label, bytes) else label


class Evaluator(stock_component.Evaluator):
  """tfx.components.Evaluator (the arguments this pipeline uses) plus label (for the
  majority-class and training-mean rules), task (classification or regression),
  accuracy_threshold / rmse_threshold (an optional floor / ceiling of the user's), baseline_dir
  (the Pusher's destination, where the executor finds the baseline; no baseline_model channel)
  and code_version (a hash of this code, so a change re-runs the Evaluator)."""

  SPEC_CLASS = EvaluatorSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

  def __init__(self, examples: types.BaseChannel, model: types.BaseChannel,
               example_splits: List[str], eval_config: tfma.EvalConfig,
               accuracy_threshold: Optional[Any] = None, label: Optional[str] = None,
               code_version: Optional[str] = None, baseline_dir: Optional[str] = None,
               task: Optional[str] = None, rmse_threshold: Optional[float] = None):
    spec = EvaluatorSpec(
        examples=examples, model=model, baseline_dir=baseline_dir, task=task,
        rmse_threshold=rmse_threshold,
        example_splits=json_utils.dumps(example_splits),
        fairness_indicator_thresholds=json_utils.dumps(None),
        eval_config=eval_config, accuracy_threshold=accuracy_threshold, label=label,
        code_version=code_version,
        evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
        blessing=types.Channel(type=standard_artifacts.ModelBlessing))
    # Skip the stock __init__: it builds the stock spec, without our parameters.
    base_beam_component.BaseBeamComponent.__init__(self, spec=spec)
