"""Metrics for labels where one class dominates, and the objectives they make.

Accuracy rewards always predicting the most common class: on a table with 3% positives that
rule scores 0.97. Two metrics do not reward it, and either can be the search's objective:
- balanced accuracy (`balanced_accuracy`): the mean over the classes of the share of each
  class's rows predicted as that class (macro recall, as scikit-learn's
  balanced_accuracy_score). Always predicting one class scores 1/k, however common that class
  is. Any number of classes.
- AUC (`auc`): the ROC AUC of the second class's probability; two classes only. It ranks
  rather than thresholds, so it sees a model that orders the rows well before its argmax does.
The Evaluator computes the same balanced accuracy on the test split (components/evaluator.py).
"""

from __future__ import annotations

from typing import List, Union

import keras
import keras_tuner
from keras import ops

BALANCED_ACCURACY = 'balanced_accuracy'
AUC = 'auc'


class BalancedAccuracy(keras.metrics.Metric):
  """Mean per-class recall of the argmax prediction, over the classes seen in the labels."""

  def __init__(self, num_classes: int, name: str = BALANCED_ACCURACY, **kwargs):
    super().__init__(name=name, **kwargs)
    self.num_classes = num_classes
    # Keras reads the direction from here (EarlyStopping's mode='auto').
    self._direction = 'up'
    self.rows = self.add_variable(shape=(num_classes,), initializer='zeros', name='rows')
    self.hits = self.add_variable(shape=(num_classes,), initializer='zeros', name='hits')

  def update_state(self, y_true, y_pred, sample_weight=None):
    # Unweighted on purpose: Keras passes class_weight as sample weights, and a balanced metric
    # must not count the classes twice.
    del sample_weight
    labels = ops.cast(ops.reshape(y_true, (-1,)), 'int32')
    per_class = ops.one_hot(labels, self.num_classes)
    correct = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), 'int32'), labels),
                       per_class.dtype)
    self.rows.assign_add(ops.sum(per_class, axis=0))
    self.hits.assign_add(ops.sum(per_class * ops.expand_dims(correct, -1), axis=0))

  def result(self):
    seen = ops.cast(self.rows > 0, self.rows.dtype)
    recall = ops.divide_no_nan(self.hits, self.rows)
    return ops.divide_no_nan(ops.sum(recall * seen), ops.sum(seen))

  def reset_state(self):
    for variable in (self.rows, self.hits):
      variable.assign(ops.zeros_like(variable))

  def get_config(self):
    return {**super().get_config(), 'num_classes': self.num_classes}


class SecondClassAUC(keras.metrics.AUC):
  """ROC AUC of a two-class softmax: the second class's probability against the label."""

  def __init__(self, name: str = AUC, **kwargs):
    super().__init__(name=name, **kwargs)

  def update_state(self, y_true, y_pred, sample_weight=None):
    del sample_weight  # unweighted, as BalancedAccuracy
    return super().update_state(ops.reshape(y_true, (-1,)), y_pred[:, 1])


def classification_metrics(num_classes: int) -> List[Union[str, keras.metrics.Metric]]:
  """What a classifier compiles: accuracy, balanced accuracy, and AUC for two classes."""
  return (['accuracy', BalancedAccuracy(num_classes)]
          + ([SecondClassAUC()] if num_classes == 2 else []))


def objective(name: str) -> Union[str, keras_tuner.Objective]:
  """The search objective for Keras Tuner. It infers the direction of Keras's own metrics from
  their names (val_auc: max), but not of ours: balanced accuracy is given, going up."""
  if name == f'val_{BALANCED_ACCURACY}':
    return keras_tuner.Objective(name, 'max')
  return name


def check_objective(name: str, num_classes: int) -> None:
  if name == f'val_{AUC}' and num_classes != 2:
    raise ValueError(f'search.objective: val_auc needs a label with two classes; this one has '
                     f'{num_classes}: use val_balanced_accuracy')
