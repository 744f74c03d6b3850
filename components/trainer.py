"""run_fn: rebuild the best model the Tuner found, train it, export it for serving."""

from __future__ import annotations

import json
import os
from typing import Any, Dict

import keras
import keras_tuner
import tensorflow_transform as tft

from components import datasets, features, model

TRAINING_SUMMARY_FILE = 'training_summary.json'


def run_fn(fn_args) -> None:
  config: Dict[str, Any] = fn_args.custom_config
  search, seed = config['search'], config['seed']
  datasets.set_seeds(seed)
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
  inputs = features.model_inputs(tf_transform_output)
  hp = keras_tuner.HyperParameters.from_config(fn_args.hyperparameters)
  epochs = training_epochs(hp, config)
  keras_model = model.build_model(hp, inputs, model.space_by_name(search['space']))
  make = lambda files, shuffle: datasets.make_dataset(  # noqa: E731
      files, fn_args.data_accessor, tf_transform_output, search['batch_size'], seed, shuffle)
  print(f'  [Trainer] training {model.hidden_widths(keras_model)} hidden units '
        f'for up to {epochs} epochs', flush=True)
  history = keras_model.fit(
      make(fn_args.train_files, True), validation_data=make(fn_args.eval_files, False),
      epochs=epochs, verbose=0,
      callbacks=[keras.callbacks.EarlyStopping(
          monitor='val_loss', patience=search['early_stopping_patience'],
          restore_best_weights=True)])
  model.export_serving_model(keras_model, tf_transform_output, config['label'],
                             inputs.labels, fn_args.serving_model_dir)
  _write_summary(fn_args.model_run_dir, hp, epochs, history, keras_model)


def training_epochs(hp: keras_tuner.HyperParameters, config: Dict[str, Any]) -> int:
  """The configured epochs, else what the best trial trained for, else the search maximum."""
  return int(config['training']['epochs'] or hp.values.get('tuner/epochs')
             or config['search']['max_epochs'])


def _write_summary(model_run_dir: str, hp, epochs: int, history, keras_model) -> None:
  os.makedirs(model_run_dir, exist_ok=True)
  summary = {
      'hyperparameters': model.active_hyperparameters(hp.values),
      'max_epochs': epochs,
      'epochs_run': len(history.history['loss']),
      'hidden_widths': model.hidden_widths(keras_model),
      'trainable_parameters': int(keras_model.count_params()),
      'val_accuracy': [float(v) for v in history.history.get('val_accuracy', [])],
  }
  with open(os.path.join(model_run_dir, TRAINING_SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
