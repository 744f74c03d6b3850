"""Benchmark: seconds per training epoch through our tf.data input pipeline (what every Tuner
trial and the Trainer use) against `model.fit` on the same transformed data held in memory as
NumPy arrays, side by side in one process, alternating, repeated. Also the fixed cost of a
fresh model's first epoch (build, compile, tracing) against a steady epoch.

    make run                                   # once: a finished run to read the data from
    .venv/bin/python bench/input_pipeline.py [runs/hypertune-digits] [--repeats 3 --epochs 5]

Prints a Markdown table for BENCHMARKS.md.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from tfx.components.trainer import fn_args_utils  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from tfx_hypertune.model import datasets, network, space as model_space  # noqa: E402
from tfx_hypertune.hypertune import results  # noqa: E402
from tfx_hypertune.pipeline import config as config_lib  # noqa: E402
from tfx_hypertune.pipeline.pipeline import user_function_config  # noqa: E402


class EpochTimer(keras.callbacks.Callback):

  def on_train_begin(self, logs=None):
    self.seconds = []

  def on_epoch_begin(self, epoch, logs=None):
    self._started = time.perf_counter()

  def on_epoch_end(self, epoch, logs=None):
    self.seconds.append(time.perf_counter() - self._started)


def prepared_from_run(run_dir):
  transform = results.latest_run(os.path.join(run_dir, 'metadata.sqlite'))['Transform']
  examples = standard_artifacts.Examples()
  examples.uri = transform.uri('transformed_examples')
  examples.split_names = '["train", "eval"]'
  graph = standard_artifacts.TransformGraph()
  graph.uri = transform.uri('transform_graph')
  config = config_lib.build_config({})
  fn_args = fn_args_utils.get_common_fn_args(
      {'examples': [examples], 'transform_graph': [graph]},
      {'train_args': json.dumps({'splits': ['train']}),
       'eval_args': json.dumps({'splits': ['eval']}),
       'custom_config': json.dumps(user_function_config(config, 'bench'))})
  return datasets.prepare(fn_args), config


def fixed_model(prepared):
  hp = keras_tuner.HyperParameters()
  for name, value in {'num_layers': 1, 'units_0': 128, 'dropout': 0.1,
                      'learning_rate': 1e-3}.items():
    hp.Fixed(name, value)
  return network.build_model(hp, prepared.inputs, model_space.space_by_name(
      user_function_config(config_lib.build_config({}), 'bench')['search']['space']))


def to_numpy(dataset):
  features, labels = {}, []
  for batch_features, batch_labels in dataset:
    for name, value in batch_features.items():
      features.setdefault(name, []).append(value.numpy())
    labels.append(batch_labels.numpy())
  return {k: np.concatenate(v) for k, v in features.items()}, np.concatenate(labels)


def timed_fit(prepared, epochs, numpy_data=None):
  keras_model = fixed_model(prepared)
  timer = EpochTimer()
  started = time.perf_counter()
  if numpy_data:
    (x, y), (vx, vy) = numpy_data
    keras_model.fit(x, y, batch_size=32, validation_data=(vx, vy), epochs=epochs, verbose=0,
                    callbacks=[timer])
  else:
    keras_model.fit(prepared.train, validation_data=prepared.eval, epochs=epochs, verbose=0,
                    callbacks=[timer])
  return time.perf_counter() - started, timer.seconds


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('run_dir', nargs='?', default='runs/hypertune-digits')
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--epochs', type=int, default=5)
  args = parser.parse_args()
  prepared, _ = prepared_from_run(args.run_dir)
  numpy_data = (to_numpy(prepared.train), to_numpy(prepared.eval))
  timed_fit(prepared, 1)  # fill the tf.data cache once, as the first trial of a search does
  steady = {'tf.data (ours)': [], 'numpy in memory': []}
  first = {'tf.data (ours)': [], 'numpy in memory': []}
  for repeat in range(args.repeats):
    for name, data in (('tf.data (ours)', None), ('numpy in memory', numpy_data)):
      total, seconds = timed_fit(prepared, args.epochs, data)
      first[name].append(seconds[0])
      steady[name].append(statistics.median(seconds[1:]))
      print(f'repeat {repeat + 1}/{args.repeats} {name}: first epoch {seconds[0]:.3f}s, '
            f'steady {statistics.median(seconds[1:]):.3f}s/epoch, fit {total:.2f}s',
            file=sys.stderr, flush=True)
  ours, bare = steady['tf.data (ours)'], steady['numpy in memory']
  ratios = [a / b for a, b in zip(ours, bare)]
  print(f'\nDate {time.strftime("%Y-%m-%d")}, {platform.machine()}, {os.cpu_count()} cores; '
        f'`{" ".join(sys.argv)}`; {args.repeats} alternating repeats of {args.epochs} epochs, '
        'fixed model (1x128, dropout 0.1), batch 32.\n')
  print('| input | first epoch s (median) | steady s/epoch (median, min-max) |')
  print('|---|---|---|')
  for name in steady:
    print(f'| {name} | {statistics.median(first[name]):.3f} | '
          f'{statistics.median(steady[name]):.3f} ({min(steady[name]):.3f}-'
          f'{max(steady[name]):.3f}) |')
  print(f'\nSteady-epoch ratio ours / numpy: median {statistics.median(ratios):.2f} '
        f'(per repeat: {", ".join(f"{r:.2f}" for r in ratios)}); target <= 1.2.')


if __name__ == '__main__':
  main()
