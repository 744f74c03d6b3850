"""preprocessing_fn through real tf.Transform (Beam DirectRunner) on a few rows."""

import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from tfx_hypertune.model import features, transform

ROWS = [
    {'size': [1.0], 'count': [10], 'color': [b'red'], 'label': [b'cat']},
    {'size': [3.0], 'count': [20], 'color': [b'blue'], 'label': [b'dog']},
    {'size': [], 'count': [30], 'color': [b'red'], 'label': [b'cat']},    # size missing
    {'size': [5.0], 'count': [40], 'color': [], 'label': [b'bird']},      # color missing
]
RAW_SPEC = {
    'size': tf.io.VarLenFeature(tf.float32),     # has missing values -> SparseTensor
    'count': tf.io.FixedLenFeature([1], tf.int64),
    'color': tf.io.VarLenFeature(tf.string),
    'label': tf.io.FixedLenFeature([1], tf.string),
}


@pytest.fixture(scope='module')
def transformed():
  metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
  fn = lambda inputs: transform.preprocessing_fn(inputs, {'label': 'label'})  # noqa: E731
  with tempfile.TemporaryDirectory() as temp_dir, tft_beam.Context(temp_dir=temp_dir):
    (rows, _), transform_fn = (
        (ROWS, metadata) | tft_beam.AnalyzeAndTransformDataset(fn, output_record_batches=False))
    out_dir = tempfile.mkdtemp()
    _ = transform_fn | tft_beam.WriteTransformFn(out_dir)
  return rows, tft.TFTransformOutput(out_dir)


def test_numeric_columns_are_mean_imputed_and_z_scored(transformed):
  rows, _ = transformed
  numeric = np.array([r[features.NUMERIC_KEY] for r in rows])
  # Columns are stacked in sorted name order: count, size.
  count = np.array([10, 20, 30, 40], float)
  np.testing.assert_allclose(numeric[:, 0], (count - count.mean()) / count.std(), rtol=1e-5)
  size = np.array([1.0, 3.0, 3.0, 5.0])  # the missing size takes the mean of 1, 3, 5
  np.testing.assert_allclose(numeric[:, 1], (size - size.mean()) / size.std(), rtol=1e-5)


def test_strings_become_vocabulary_ids_with_missing_token(transformed):
  rows, output = transformed
  vocabulary = [v.decode() for v in output.vocabulary_by_name('color')]
  assert sorted(vocabulary) == sorted(['red', 'blue', features.MISSING_STRING])
  ids = [int(np.squeeze(r['color_xf'])) for r in rows]
  assert [vocabulary[i] for i in ids] == ['red', 'blue', 'red', features.MISSING_STRING]
  # One out-of-vocabulary bucket for values never seen in training.
  assert output.num_buckets_for_transformed_feature('color_xf') == len(vocabulary) + 1


def test_label_ids_map_back_to_label_strings(transformed):
  rows, output = transformed
  labels = [v.decode() for v in output.vocabulary_by_name(features.LABEL_VOCABULARY)]
  assert labels[0] == 'cat'  # the most frequent class comes first
  assert sorted(labels) == ['bird', 'cat', 'dog']
  decoded = [labels[int(np.squeeze(r[features.LABEL_KEY]))] for r in rows]
  assert decoded == ['cat', 'dog', 'cat', 'bird']


def test_model_inputs_read_from_transformed_schema(transformed):
  _, output = transformed
  inputs = features.model_inputs(output)
  assert inputs.numeric_width == 2
  assert inputs.categorical == (('color_xf', 4),)
  assert inputs.num_classes == 3 and inputs.labels[0] == 'cat'
