"""Input pipeline and reproducibility shared by the Tuner and the Trainer."""

from __future__ import annotations

import dataclasses
import functools
import os
import random
from typing import Any, Dict, List, NamedTuple, Optional

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

from tfx_hypertune.model import features, search_config

# Shuffle within this many examples; the transformed data are cached in memory after the
# first pass, so later epochs (and every trial after the first) never re-read the files.
SHUFFLE_BUFFER = 10_000


def set_seeds(seed: int) -> None:
  """Seeds Python, NumPy and TensorFlow, and makes TensorFlow ops deterministic."""
  os.environ['PYTHONHASHSEED'] = str(seed)
  random.seed(seed)
  np.random.seed(seed)
  keras.utils.set_random_seed(seed)
  tf.config.experimental.enable_op_determinism()


class Prepared(NamedTuple):
  """What tuner_fn and run_fn both start from."""
  search: Dict[str, Any]
  seed: int
  tf_transform_output: Any
  inputs: features.ModelInputs
  train: tf.data.Dataset
  eval: tf.data.Dataset
  # Keras fit's class_weight (training.class_weight), used by the search and the Trainer alike.
  class_weight: Optional[Dict[int, float]] = None
  # The training rows before shuffling and batching, and the batch size: a trial makes its
  # own shuffled dataset of them (hypermodel.py).
  train_rows: Optional[tf.data.Dataset] = None
  batch_size: int = 32


def prepare(fn_args, fit_on_eval_too: bool = False) -> Prepared:
  """Seeds everything, reads the transform output and builds the train and eval datasets.
  With fit_on_eval_too the training dataset holds the eval rows as well (the final model)."""
  config: Dict[str, Any] = fn_args.custom_config
  search, seed = search_config.search_settings(config), config['seed']
  set_seeds(seed)
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
  rows = functools.partial(cached_rows, data_accessor=fn_args.data_accessor,
                           tf_transform_output=tf_transform_output)
  train = rows(list(fn_args.train_files) + (
      list(fn_args.eval_files) if fit_on_eval_too else []))
  inputs = with_label_scale(features.model_inputs(tf_transform_output), train)
  rows_per_class = count_rows_per_class(train, inputs.num_classes)
  batch_size = search['batch_size'] or auto_batch_size(sum(rows_per_class))
  train, evaluation = model_columns(train), model_columns(rows(fn_args.eval_files))
  if not inputs.is_regression:
    check_labels_known(evaluation, 'eval')
  return Prepared(
      search, seed, tf_transform_output, inputs, shuffled(train, seed, batch_size),
      evaluation.batch(batch_size).prefetch(tf.data.AUTOTUNE),
      class_weights(config.get('training', {}).get('class_weight'), rows_per_class),
      train, batch_size)


def shuffled(rows: tf.data.Dataset, seed: int, batch_size: int) -> tf.data.Dataset:
  """The rows in batches, in another order each epoch, the orders fixed by the seed (for one
  dataset object: a new one starts the orders again)."""
  return (rows.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
          .batch(batch_size).prefetch(tf.data.AUTOTUNE))


def class_weights(choice: Optional[str], rows_per_class: List[int]) -> Optional[Dict[int, float]]:
  """Keras `class_weight` for training.class_weight: `balanced` weighs each class by
  rows / (classes * its rows), as scikit-learn's class_weight='balanced', so that every class
  adds as much to the loss as any other; `none` (or a regression): None."""
  if choice in (None, 'none') or len(rows_per_class) < 2:
    return None
  if choice != 'balanced':
    raise ValueError(f'training.class_weight: {choice!r}: choose none or balanced')
  total, present = sum(rows_per_class), sum(1 for n in rows_per_class if n)
  return {i: (total / (present * n) if n else 1.0) for i, n in enumerate(rows_per_class)}


# batch_size null: about 40 gradient steps per epoch, between 8 and 32 rows a batch. With 32 on
# a small table (wine: 125 training rows) an epoch was 4 steps, and a 10-epoch search
# underfitted (BENCHMARKS.md, "Quality").
STEPS_PER_EPOCH = 40
BATCH_SIZE_RANGE = (8, 32)


def auto_batch_size(train_rows: int) -> int:
  low, high = BATCH_SIZE_RANGE
  return int(min(high, max(low, round(train_rows / STEPS_PER_EPOCH))))


def count_rows_per_class(dataset: tf.data.Dataset, num_classes: int) -> List[int]:
  """Rows of each class in a (cached) dataset of (features, label) rows; one count, of all
  rows, for a regression (num_classes 0). Counting fills the cache, so training reads no file
  again."""
  if not num_classes:
    return [int(dataset.reduce(0, lambda count, _: count + 1))]
  per_class = dataset.reduce(
      tf.zeros([num_classes], tf.int64),
      lambda counts, row: counts + tf.one_hot(tf.reshape(tf.cast(row[1], tf.int64), [-1])[0],
                                              num_classes, dtype=tf.int64))
  return [int(n) for n in per_class.numpy()]


def check_labels_known(dataset: tf.data.Dataset, split: str) -> None:
  """Refuses, in one line, a split with labels the training split never has: Transform's label
  vocabulary comes from the training rows, so such a label has the id -1 and every trial would
  fail on it. (The `hypertune` command's data check refuses it before anything runs, naming
  the class; this catches it where nothing checked the data first, a Kubeflow run.)"""
  unknown = int(dataset.reduce(0, lambda count, row: count + tf.cast(
      tf.reduce_any(tf.cast(row[1], tf.int64) < 0), tf.int32)))
  if unknown:
    raise ValueError(f'{split} split: {unknown} row(s) have a label that no training row has '
                     f'(the label vocabulary comes from the training split; rows are split by '
                     f'position): add rows of that class or remove its rows')


def with_label_scale(inputs: features.ModelInputs,
                     rows: tf.data.Dataset) -> features.ModelInputs:
  """Regression: the label's training mean and std, from the first transformed row."""
  if not inputs.is_regression:
    return inputs
  first, _ = next(iter(rows.take(1)))
  return dataclasses.replace(inputs,
                             label_mean=float(first[features.LABEL_MEAN_KEY].numpy()[0]),
                             label_std=float(first[features.LABEL_STD_KEY].numpy()[0]))


def model_columns(rows: tf.data.Dataset) -> tf.data.Dataset:
  """Rows without the label's scale columns, which are data for export, not model inputs."""
  return rows.map(lambda x, y: ({k: v for k, v in x.items()
                                  if k not in features.LABEL_SCALE_KEYS}, y))


def cached_rows(file_pattern: List[str], data_accessor, tf_transform_output) -> tf.data.Dataset:
  """(features, label) of each transformed example, one at a time, cached in memory after the
  first pass."""
  dataset = data_accessor.tf_dataset_factory(
      file_pattern,
      tfxio.TensorFlowDatasetOptions(
          batch_size=256, label_key=features.LABEL_KEY, shuffle=False, num_epochs=1),
      tf_transform_output.transformed_metadata.schema)
  return dataset.unbatch().cache()
