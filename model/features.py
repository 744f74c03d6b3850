"""What the data's schema says about columns, before and after Transform.

Nothing here knows the digits data: numeric and categorical features are read from the
schema (raw side) or from the transformed feature spec (model side).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Dict, List, Tuple

import tensorflow as tf

# Transformed feature names carry this suffix; the label and the stacked numeric columns
# have reserved names.
TRANSFORMED_SUFFIX = '_xf'
LABEL_KEY = '__label__'
NUMERIC_KEY = '__numeric__'
# tf.Transform vocabulary file holding the label strings in class-id order.
LABEL_VOCABULARY = 'label_vocabulary'
# Missing strings become this token; it gets a vocabulary entry like any other value.
MISSING_STRING = '__missing__'
# Regression: the label is standardised in Transform. tf.Transform's analyzers are visible only
# inside its graph, so the training mean and standard deviation also travel as two constant
# columns of the transformed data; the Trainer reads them from the first row and the exported
# model turns its standardised output back into the label's units.
LABEL_MEAN_KEY = '__label_mean__'
LABEL_STD_KEY = '__label_std__'
# In the transform_features signature (what TFMA reads): the label in its own units.
LABEL_VALUE_KEY = '__label_value__'
LABEL_SCALE_KEYS = (LABEL_MEAN_KEY, LABEL_STD_KEY)
RESERVED_KEYS = (LABEL_KEY, NUMERIC_KEY, *LABEL_SCALE_KEYS)
CLASSIFICATION, REGRESSION = 'classification', 'regression'


# A column name used as is inside the model: an ASCII identifier. Keras refuses other layer
# names ('/' in `size/cm`) and TensorFlow other scope names (`Café`, `颜色`).
_SAFE_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_]*')


def safe_name(raw_name: str) -> str:
  """The name a raw column goes by inside the transform graph and the model: the column's own
  name when it is an ASCII identifier, else its letters and digits (the rest as `_`) and a hash
  of the whole name, so that no two columns meet (`size/cm` -> `size_cm_1f3a9c0d`). The one
  place a CSV header becomes an identifier; serving still takes the raw names."""
  if _SAFE_NAME.fullmatch(raw_name):
    return raw_name
  cleaned = re.sub(r'[^A-Za-z0-9]+', '_', raw_name).strip('_')[:40]
  digest = hashlib.sha256(raw_name.encode('utf-8')).hexdigest()[:8]
  if cleaned[:1].isalpha():
    return f'{cleaned}_{digest}'
  return f'c_{cleaned}_{digest}'.replace('__', '_')


def transformed_name(raw_name: str) -> str:
  return safe_name(raw_name) + TRANSFORMED_SUFFIX


@dataclasses.dataclass(frozen=True)
class ModelInputs:
  """The model's view of the transformed features."""
  numeric_width: int  # columns in the stacked numeric vector (0: no numeric column)
  # Transformed categorical feature -> number of ids (vocabulary + out-of-vocabulary bucket).
  categorical: Tuple[Tuple[str, int], ...]
  num_classes: int
  labels: Tuple[str, ...]
  task: str = CLASSIFICATION
  label_mean: float = 0.0  # regression: the training label's mean and standard deviation
  label_std: float = 1.0

  @property
  def is_regression(self) -> bool:
    return self.task == REGRESSION


def model_inputs(tf_transform_output) -> ModelInputs:
  """Reads the transformed schema: the numeric vector's width, each categorical feature's
  number of ids, and the task: regression (the label's scale columns are there) or classes
  (the label vocabulary). The label's mean and std are data: datasets.prepare fills them in."""
  spec = tf_transform_output.transformed_feature_spec()
  numeric_width = int(spec[NUMERIC_KEY].shape[-1]) if NUMERIC_KEY in spec else 0
  categorical: List[Tuple[str, int]] = [
      (name, tf_transform_output.num_buckets_for_transformed_feature(name))
      for name in sorted(spec) if name not in RESERVED_KEYS]
  if LABEL_MEAN_KEY in spec:
    return ModelInputs(numeric_width, tuple(categorical), 0, (), task=REGRESSION)
  labels = tuple(
      v.decode() for v in tf_transform_output.vocabulary_by_name(LABEL_VOCABULARY))
  return ModelInputs(numeric_width, tuple(categorical), len(labels), labels)


def raw_serving_spec(tf_transform_output, label: str) -> Dict[str, tf.io.FixedLenFeature]:
  """The raw features a serving request carries: everything in the schema but the label."""
  spec = dict(tf_transform_output.raw_feature_spec())
  spec.pop(label, None)
  return spec
