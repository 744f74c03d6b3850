"""Balanced accuracy and AUC: the model's Keras metrics and the Evaluator's TFMA metric agree
with scikit-learn; class weights and the imbalance rule."""

from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from tensorflow_model_analysis.metrics import metric_types

from tfx_hypertune.components import class_balance
from tfx_hypertune.components import evaluator
from tfx_hypertune.model import datasets, metrics

RNG = np.random.default_rng(3)
# Three classes, the first common; probabilities that get some rows of each class right.
LABELS = RNG.choice(3, size=200, p=[0.8, 0.15, 0.05])
PROBABILITIES = RNG.dirichlet([1, 1, 1], size=200) + np.eye(3)[LABELS] * RNG.random((200, 1))
PROBABILITIES /= PROBABILITIES.sum(axis=1, keepdims=True)
EXPECTED = balanced_accuracy_score(LABELS, PROBABILITIES.argmax(axis=1))


def test_the_keras_balanced_accuracy_is_scikit_learns_over_batches():
  metric = metrics.BalancedAccuracy(num_classes=3)
  for start in range(0, 200, 64):  # streamed in batches, as in fit
    metric.update_state(LABELS[start:start + 64, None], PROBABILITIES[start:start + 64])
  assert float(metric.result()) == pytest.approx(EXPECTED, abs=1e-6)
  assert 0.3 < EXPECTED < 0.9  # neither chance nor perfect: the test can tell them apart


def test_always_predicting_the_common_class_scores_one_over_the_classes():
  metric = metrics.BalancedAccuracy(num_classes=3)
  metric.update_state(LABELS, np.tile([1.0, 0.0, 0.0], (200, 1)))
  assert float(metric.result()) == pytest.approx(1 / 3)
  assert (LABELS == 0).mean() > 0.7  # while its accuracy is high


def test_the_auc_metric_reads_the_second_class_probability():
  labels = (LABELS > 0).astype(int)
  second = np.clip(labels * 0.3 + RNG.random(200) * 0.7, 0, 1)
  metric = metrics.SecondClassAUC(num_thresholds=1000)
  metric.update_state(labels, np.stack([1 - second, second], axis=1))
  assert float(metric.result()) == pytest.approx(roc_auc_score(labels, second), abs=0.01)


def test_the_evaluators_tfma_metric_is_the_same_balanced_accuracy():
  combiner = evaluator.ArgmaxBalancedAccuracy().computations(
      example_weighted=False)[0].combiner
  halves = []
  for rows in (slice(0, 120), slice(120, 200)):  # two workers' accumulators, merged
    accumulator = combiner.create_accumulator()
    for label, probabilities in zip(LABELS[rows], PROBABILITIES[rows]):
      accumulator = combiner.add_input(accumulator, metric_types.StandardMetricInputs(
          labels=np.array([label]), predictions=probabilities,
          example_weights=np.array([1.0])))
    halves.append(accumulator)
  (value,) = combiner.extract_output(combiner.merge_accumulators(halves)).values()
  assert value == pytest.approx(EXPECTED)


def test_balanced_class_weights_make_every_class_weigh_the_same():
  weights = datasets.class_weights('balanced', [970, 30])
  assert weights[0] * 970 == pytest.approx(weights[1] * 30)
  assert weights[0] * 970 + weights[1] * 30 == pytest.approx(1000)  # the loss keeps its scale
  assert datasets.class_weights('none', [970, 30]) is None
  assert datasets.class_weights('balanced', [100]) is None  # a regression's single count
  with pytest.raises(ValueError, match='training.class_weight'):
    datasets.class_weights('inverse', [970, 30])


def test_a_label_is_imbalanced_above_ninety_percent():
  assert class_balance.majority({'ok': 97, 'fraud': 3}) == ('ok', 0.97)
  assert class_balance.is_imbalanced({'ok': 97, 'fraud': 3})
  assert not class_balance.is_imbalanced({'ok': 90, 'fraud': 10})


def test_val_auc_needs_two_classes():
  metrics.check_objective('val_auc', 2)
  with pytest.raises(ValueError, match='val_balanced_accuracy'):
    metrics.check_objective('val_auc', 3)


def _pipeline_eval_config():
  """The classification eval config the pipeline compiles (pipeline.eval_config)."""
  import tensorflow_model_analysis as tfma
  from tfx.utils import proto_utils
  from tfx_hypertune.pipeline import config as config_lib, pipeline
  return proto_utils.proto_to_json(pipeline.eval_config(config_lib.load_config(
      None, {'evaluation.max_accuracy_drop': 0.01}))), tfma.EvalConfig, proto_utils


def _metrics_by_name(eval_config):
  return {m.class_name: (m, spec) for spec in eval_config.metrics_specs for m in spec.metrics}


def test_an_imbalanced_run_is_blessed_by_balanced_accuracy_against_the_baseline_too():
  config_json, eval_config_class, proto_utils = _pipeline_eval_config()
  rule = evaluator._ClassificationRule(  # noqa: SLF001
      (Counter({b'ok': 970, b'fraud': 30}), Counter({b'ok': 97, b'fraud': 3})), floor=0.0)
  assert rule.imbalanced and rule.required_balanced == pytest.approx(0.55)
  by_name = _metrics_by_name(proto_utils.json_to_proto(rule.eval_config(config_json),
                                                       eval_config_class()))
  balanced, _ = by_name[evaluator.BALANCED_ACCURACY_METRIC]
  accuracy, _ = by_name[evaluator.ACCURACY_METRIC]
  assert balanced.threshold.value_threshold.lower_bound.value == pytest.approx(0.55)
  assert balanced.threshold.change_threshold.absolute.value == pytest.approx(-0.01, abs=1e-6)
  assert not accuracy.threshold.HasField('change_threshold')
  assert accuracy.threshold.value_threshold.lower_bound.value == 0.0  # no floor set
  _, auc_spec = by_name[evaluator.AUC_METRIC]
  assert list(auc_spec.binarize.class_ids.values) == [1]


def test_a_balanced_run_keeps_the_accuracy_rule_and_reports_balanced_accuracy():
  config_json, eval_config_class, proto_utils = _pipeline_eval_config()
  rule = evaluator._ClassificationRule(  # noqa: SLF001
      (Counter({b'1': 50, b'2': 30, b'3': 20}), Counter({b'1': 5, b'2': 3, b'3': 2})), floor=0.0)
  assert not rule.imbalanced
  by_name = _metrics_by_name(proto_utils.json_to_proto(rule.eval_config(config_json),
                                                       eval_config_class()))
  accuracy, _ = by_name[evaluator.ACCURACY_METRIC]
  assert accuracy.threshold.value_threshold.lower_bound.value == pytest.approx(0.55)
  assert accuracy.threshold.HasField('change_threshold')
  balanced, _ = by_name[evaluator.BALANCED_ACCURACY_METRIC]
  assert not balanced.HasField('threshold')
  assert evaluator.AUC_METRIC not in by_name  # three classes: no AUC
