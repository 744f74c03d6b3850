"""tuner_fns as TFX users write them, one per kind of Keras Tuner tuner, on the penguin data
that ships with tfx (raw tf.Examples and their schema, as in TFX's own Tuner tests). None of
them knows tfx-hypertune: each returns a stock TunerFnResult.

`custom_config['epochs']` (default 2) and `['trials']` (default 3) size the searches."""

import os
import signal
import time
from typing import Any, Dict

import keras
import keras_tuner
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.components.tuner.component import TunerFnResult
from tfx.utils import io_utils
from tfx_bsl.tfxio import dataset_options

FEATURES = ['culmen_length_mm', 'culmen_depth_mm', 'flipper_length_mm', 'body_mass_g']
LABEL = 'species'
OBJECTIVE = 'val_sparse_categorical_accuracy'


def _datasets(fn_args, batch_size: int = 16):
  schema = io_utils.parse_pbtxt_file(fn_args.schema_path, schema_pb2.Schema())

  def read(files):
    return fn_args.data_accessor.tf_dataset_factory(files, dataset_options.TensorFlowDatasetOptions(
        batch_size=batch_size, label_key=LABEL, num_epochs=1, shuffle=False), schema).map(
            lambda features, label: (tf.concat([tf.cast(features[f], tf.float32) / 100.0
                                                for f in FEATURES], axis=1), label))

  return read(fn_args.train_files).cache(), read(fn_args.eval_files).cache()


def build_model(hp: keras_tuner.HyperParameters) -> keras.Model:
  model = keras.Sequential([keras.Input(shape=(len(FEATURES),))])
  for _ in range(hp.Int('num_layers', 1, 2)):
    model.add(keras.layers.Dense(hp.Choice('units', [8, 16]), activation='relu'))
  model.add(keras.layers.Dense(3))
  model.compile(optimizer=keras.optimizers.Adam(hp.Choice('learning_rate', [1e-2, 1e-3])),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[keras.metrics.SparseCategoricalAccuracy()])
  return model


def _fit_kwargs(fn_args, epochs: bool = True) -> Dict[str, Any]:
  train, evaluation = _datasets(fn_args)
  kwargs = {'x': train, 'validation_data': evaluation, 'verbose': 0}
  if epochs:
    kwargs['epochs'] = fn_args.custom_config.get('epochs', 2)
  return kwargs


def _common(fn_args) -> Dict[str, Any]:
  return {'objective': OBJECTIVE, 'directory': fn_args.working_dir, 'project_name': 'kinds',
          'seed': 1}


def random_tuner_fn(fn_args) -> TunerFnResult:
  tuner = keras_tuner.RandomSearch(build_model, max_trials=fn_args.custom_config.get('trials', 3),
                                   **_common(fn_args))
  return TunerFnResult(tuner=tuner, fit_kwargs=_fit_kwargs(fn_args))


def hyperband_tuner_fn(fn_args) -> TunerFnResult:
  tuner = keras_tuner.Hyperband(build_model, max_epochs=fn_args.custom_config.get('epochs', 3),
                                factor=3, **_common(fn_args))
  return TunerFnResult(tuner=tuner, fit_kwargs=_fit_kwargs(fn_args, epochs=False))


def bayesian_tuner_fn(fn_args) -> TunerFnResult:
  tuner = keras_tuner.BayesianOptimization(
      build_model, max_trials=fn_args.custom_config.get('trials', 3), num_initial_points=2,
      **_common(fn_args))
  return TunerFnResult(tuner=tuner, fit_kwargs=_fit_kwargs(fn_args))


def grid_tuner_fn(fn_args) -> TunerFnResult:
  hp = keras_tuner.HyperParameters()
  hp.Fixed('num_layers', 1)
  hp.Choice('units', [8, 16])
  hp.Choice('learning_rate', [1e-2, 1e-3])
  tuner = keras_tuner.GridSearch(build_model, hyperparameters=hp, allow_new_entries=False,
                                 **_common(fn_args))
  return TunerFnResult(tuner=tuner, fit_kwargs=_fit_kwargs(fn_args))


class PenguinHyperModel(keras_tuner.HyperModel):
  """The Keras Tuner guide's HyperModel: build() declares the model's space, fit() tunes the
  batch size."""

  def build(self, hp):
    return build_model(hp)

  def fit(self, hp, model, x, *args, **kwargs):
    return model.fit(x.unbatch().batch(hp.Choice('batch_size', [8, 32])), *args, **kwargs)


def hypermodel_tuner_fn(fn_args) -> TunerFnResult:
  tuner = keras_tuner.RandomSearch(PenguinHyperModel(),
                                   max_trials=fn_args.custom_config.get('trials', 3),
                                   **_common(fn_args))
  return TunerFnResult(tuner=tuner, fit_kwargs=_fit_kwargs(fn_args))


class CustomLoopTuner(keras_tuner.RandomSearch):
  """The Keras Tuner guide's custom training loop: run_trial trains with a GradientTape and
  returns its own metric; it takes no callbacks."""

  def run_trial(self, trial, train_ds, validation_data, epochs):
    hp = trial.hyperparameters
    model = self.hypermodel.build(hp)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(hp.get('learning_rate'))
    best = float('inf')
    for _ in range(epochs):
      for features, labels in train_ds:
        with tf.GradientTape() as tape:
          loss = loss_fn(labels, model(features, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
      losses = [float(loss_fn(labels, model(features))) for features, labels in validation_data]
      best = min(best, sum(losses) / len(losses))
    return {'my_val_loss': best}


def custom_run_trial_tuner_fn(fn_args) -> TunerFnResult:
  tuner = CustomLoopTuner(hypermodel=build_model,
                          objective=keras_tuner.Objective('my_val_loss', 'min'),
                          max_trials=fn_args.custom_config.get('trials', 3),
                          directory=fn_args.working_dir, project_name='kinds', seed=1)
  train, evaluation = _datasets(fn_args)
  return TunerFnResult(tuner=tuner, fit_kwargs={
      'train_ds': train, 'validation_data': evaluation,
      'epochs': fn_args.custom_config.get('epochs', 2)})


class FaultyRandomSearch(keras_tuner.RandomSearch):
  """A stock RandomSearch with two faults: trial 1 kills its own process the first time it
  runs (as the kernel's OOM killer or a lost machine would), trial 2 raises."""

  def run_trial(self, trial, *args, **kwargs):
    marker = os.path.join(self.project_dir, f'killed-trial-{trial.trial_id}')
    if trial.trial_id == '1' and not tf.io.gfile.exists(marker):
      with tf.io.gfile.GFile(marker, 'w') as f:
        f.write(str(os.getpid()))
      os.kill(os.getpid(), signal.SIGKILL)
    if trial.trial_id == '2':
      raise ValueError('a deliberate error in trial 2')
    return super().run_trial(trial, *args, **kwargs)


def faulty_tuner_fn(fn_args) -> TunerFnResult:
  tuner = FaultyRandomSearch(build_model, max_trials=fn_args.custom_config.get('trials', 4),
                             **_common(fn_args))
  return TunerFnResult(tuner=tuner, fit_kwargs=_fit_kwargs(fn_args))


class RaisingRandomSearch(keras_tuner.RandomSearch):
  """A stock RandomSearch whose trials in `failing` raise (a bug in a user's model code)."""

  def __init__(self, *args, failing=('1',), **kwargs):
    super().__init__(*args, **kwargs)
    self.failing = tuple(failing)

  def run_trial(self, trial, *args, **kwargs):
    if trial.trial_id in self.failing or '*' in self.failing:
      raise ValueError(f'a deliberate error in trial {trial.trial_id}')
    return super().run_trial(trial, *args, **kwargs)


def raising_tuner_fn(fn_args) -> TunerFnResult:
  """custom_config['failing']: the trial ids that raise ('*': all; default trial 1)."""
  tuner = RaisingRandomSearch(build_model, max_trials=fn_args.custom_config.get('trials', 3),
                              failing=fn_args.custom_config.get('failing', ['1']),
                              **_common(fn_args))
  return TunerFnResult(tuner=tuner, fit_kwargs=_fit_kwargs(fn_args))


class UnevenFaultyRandomSearch(FaultyRandomSearch):
  """FaultyRandomSearch (trial 1 kills its own process once, trial 2 raises) whose trial 0
  also takes `slow_seconds` longer than the others (a larger model, a slower machine)."""

  slow_seconds = 8.0

  def run_trial(self, trial, *args, **kwargs):
    if trial.trial_id == '0':
      time.sleep(self.slow_seconds)
    return super().run_trial(trial, *args, **kwargs)


def uneven_faulty_tuner_fn(fn_args) -> TunerFnResult:
  tuner = UnevenFaultyRandomSearch(build_model,
                                   max_trials=fn_args.custom_config.get('trials', 6),
                                   **_common(fn_args))
  tuner.slow_seconds = fn_args.custom_config.get('slow_seconds', 8.0)
  return TunerFnResult(tuner=tuner, fit_kwargs=_fit_kwargs(fn_args))


def asha_tuner_fn(fn_args) -> TunerFnResult:
  """The public ASHA tuner, as a tuner_fn builds it (the shape of keras_tuner.Hyperband)."""
  import tfx_hypertune
  tuner = tfx_hypertune.ASHA(build_model, max_epochs=fn_args.custom_config.get('epochs', 3),
                             factor=3, **_common(fn_args))
  return TunerFnResult(tuner=tuner, fit_kwargs=_fit_kwargs(fn_args, epochs=False))
