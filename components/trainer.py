"""run_fn: rebuild the best model the Tuner found, train it, export it for serving."""

from __future__ import annotations

import json
import os
from typing import Any, Dict

import keras
import keras_tuner

from components import datasets, model

TRAINING_SUMMARY_FILE = 'training_summary.json'


def run_fn(fn_args) -> None:
  prepared = datasets.prepare(fn_args)
  search = prepared.search
  hp = keras_tuner.HyperParameters.from_config(fn_args.hyperparameters)
  epochs = training_epochs(hp, fn_args.custom_config)
  keras_model = model.build_model(hp, prepared.inputs, model.space_by_name(search['space']))
  print(f'  [Trainer] training {model.hidden_widths(keras_model)} hidden units '
        f'for up to {epochs} epochs', flush=True)
  history = keras_model.fit(
      prepared.train, validation_data=prepared.eval, epochs=epochs, verbose=0,
      callbacks=[keras.callbacks.EarlyStopping(
          monitor='val_loss', patience=search['early_stopping_patience'],
          restore_best_weights=True)])
  model.export_serving_model(keras_model, prepared.tf_transform_output,
                             fn_args.custom_config['label'], prepared.inputs.labels,
                             fn_args.serving_model_dir)
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
