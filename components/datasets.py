"""Input pipeline and reproducibility shared by the Tuner and the Trainer."""

from __future__ import annotations

import os
import random
from typing import List

import keras
import numpy as np
import tensorflow as tf
from tfx_bsl.public import tfxio

from components import features

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


def make_dataset(file_pattern: List[str], data_accessor, tf_transform_output,
                 batch_size: int, seed: int, shuffle: bool) -> tf.data.Dataset:
  """(features, label) batches of transformed examples."""
  dataset = data_accessor.tf_dataset_factory(
      file_pattern,
      tfxio.TensorFlowDatasetOptions(
          batch_size=batch_size, label_key=features.LABEL_KEY, shuffle=False, num_epochs=1),
      tf_transform_output.transformed_metadata.schema)
  dataset = dataset.unbatch().cache()
  if shuffle:
    dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
  return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
