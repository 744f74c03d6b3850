"""Input pipeline and reproducibility shared by the Tuner and the Trainer."""

from __future__ import annotations

import functools
import os
import random
from typing import Any, Dict, List, NamedTuple

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

from model import features

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


def prepare(fn_args) -> Prepared:
  """Seeds everything, reads the transform output and builds the train and eval datasets."""
  config: Dict[str, Any] = fn_args.custom_config
  search, seed = config['search'], config['seed']
  set_seeds(seed)
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
  make = functools.partial(make_dataset, data_accessor=fn_args.data_accessor,
                           tf_transform_output=tf_transform_output,
                           batch_size=search['batch_size'], seed=seed)
  return Prepared(search, seed, tf_transform_output, features.model_inputs(tf_transform_output),
                  make(fn_args.train_files, shuffle=True),
                  make(fn_args.eval_files, shuffle=False))


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
