"""run_fn: rebuild the best model the Tuner found, train it, export it for serving."""

from __future__ import annotations

import json
import os

import keras_tuner
import tensorflow as tf

from tfx_hypertune.components.tuner import search as search_api
from tfx_hypertune.model import datasets, network, search_config, space

TRAINING_SUMMARY_FILE = 'training_summary.json'


def run_fn(fn_args) -> None:
  training = fn_args.custom_config['training']
  fit_on_eval_too = training.get('fit_on') == 'train_and_eval'
  prepared = datasets.prepare(fn_args, fit_on_eval_too=fit_on_eval_too)
  search = prepared.search
  hp = keras_tuner.HyperParameters.from_config(fn_args.hyperparameters)
  # The budget the Tuner really used (a Kubeflow run may set max_epochs at launch), not the
  # compiled config's.
  epochs = search_api.training_epochs(fn_args.hyperparameters, training['epochs'])
  callbacks = [search_config.early_stopping(search, restore_best_weights=True)]
  if fit_on_eval_too:
    # The eval rows are training rows now: no early stopping on them; as many epochs as the
    # best trial needed to reach its best score.
    epochs = training['epochs'] or search_api.best_epochs(fn_args.hyperparameters) or epochs
    callbacks = []
  keras_model = network.build_model(hp, prepared.inputs, space.space_by_name(search['space']))
  print(f'  [Trainer] training {network.hidden_widths(keras_model)} hidden units '
        f'for {"" if fit_on_eval_too else "up to "}{epochs} epochs on '
        f'{"train + eval" if fit_on_eval_too else "train"}', flush=True)
  history = keras_model.fit(prepared.train, validation_data=prepared.eval, epochs=epochs,
                            verbose=0, callbacks=callbacks, class_weight=prepared.class_weight)
  network.export_serving_model(keras_model, prepared.tf_transform_output,
                               fn_args.custom_config['label'], prepared.inputs,
                               fn_args.serving_model_dir)
  _write_summary(fn_args.model_run_dir, hp, epochs, history, keras_model,
                 prepared.class_weight)


def _write_summary(model_run_dir: str, hp, epochs: int, history, keras_model,
                   class_weight) -> None:
  summary = {
      'class_weight': {str(k): v for k, v in (class_weight or {}).items()},
      'hyperparameters': search_api.active_values(hp),
      'max_epochs': epochs,
      'epochs_run': len(history.history['loss']),
      'hidden_widths': network.hidden_widths(keras_model),
      'trainable_parameters': int(keras_model.count_params()),
      # Every validation metric the model reports, per epoch (val_accuracy, val_loss, ...).
      **{name: [float(v) for v in values] for name, values in history.history.items()
         if name.startswith('val_')},
  }
  # tf.io.gfile: the run directory may be a bucket URI.
  tf.io.gfile.makedirs(model_run_dir)
  with tf.io.gfile.GFile(os.path.join(model_run_dir, TRAINING_SUMMARY_FILE), 'w') as f:
    f.write(json.dumps(summary, indent=2))
