"""Benchmarks 1 and 2: how much search per unit of compute, and what a trial costs besides
training.

1. Search efficiency. Our tuner (model/search_config.make_tuner over network.build_model, with
   our progress and trial-statistics callbacks) runs Hyperband, random search and Bayesian
   optimization on the same data and seed. Random and Bayesian get as many trials as make
   Hyperband's epoch budget at max_epochs each, so the epoch budgets match; the same
   wall-clock budget is read off each search's timeline at the shortest search's total time.
   The untuned default is the model with every hyperparameter at its default (Keras Tuner's
   rule: the range's minimum, the first choice), trained max_epochs with the same early stop.
2. Per-trial cost. For every trial: seconds outside its training epochs (build, compile,
   tracing, checkpoint and state writes) = trial wall time - the sum of its epoch times; and
   once per run, the same for stock keras_tuner.Hyperband (no callbacks of ours) on digits.

Datasets: the bundled digits and a harder synthetic one (scikit-learn make_classification:
5 classes, 40 features of which 12 informative, 5% label noise), both split 70/15/15 and
z-scored on train statistics, held in memory (the input pipeline is benchmark 4's subject).

    .venv/bin/python bench/search_efficiency.py                # quick: 1 seed (about 4 min)
    .venv/bin/python bench/search_efficiency.py --seeds 3      # as in BENCHMARKS.md

Prints progress on stderr and Markdown tables on stdout.
"""

import argparse
import csv
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from tfx_hypertune.components.tuner import files  # noqa: E402
from tfx_hypertune.components.tuner import search as search_api  # noqa: E402
from tfx_hypertune.model import search_config  # noqa: E402
from tfx_hypertune.model import features, network, space as model_space  # noqa: E402
from tfx_hypertune.pipeline import config as config_lib  # noqa: E402
from tfx_hypertune.pipeline.pipeline import user_function_config  # noqa: E402

# An algorithm, or `algorithm+median`: the same with weak trials stopped by the median rule.
ALGORITHMS = ('hyperband', 'hyperband_longest_first', 'random', 'random+median', 'asha',
              'asha+median', 'hyperband+median')


def log(message):
  print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Data


def digits():
  with open(os.path.join(config_lib.DEFAULT_DATA_DIR, 'digits.csv'), newline='') as f:
    rows = list(csv.reader(f))
  header, body = rows[0], np.array(rows[1:], dtype=np.float32)
  label = header.index('label')
  return np.delete(body, label, axis=1), body[:, label].astype(np.int64)


def hard(seed=0):
  x, y = make_classification(n_samples=3000, n_features=40, n_informative=12, n_redundant=8,
                             n_classes=5, n_clusters_per_class=2, class_sep=0.8, flip_y=0.05,
                             random_state=seed)
  return x.astype(np.float32), y.astype(np.int64)


DATASETS = {'digits': digits, 'synthetic-hard': hard}


def splits(x, y, seed):
  x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.3, stratify=y,
                                                      random_state=seed)
  x_eval, x_test, y_eval, y_test = train_test_split(x_rest, y_rest, test_size=0.5,
                                                    stratify=y_rest, random_state=seed)
  # What our Transform does (tft.scale_to_z_score): z-score, and a column that is constant in
  # the training split is only centred (dividing by std + 1e-6 made such a pixel about 1e6 in
  # validation rows, validation loss ran into the thousands and early stopping cut trials).
  mean, std = x_train.mean(0), x_train.std(0)
  std = np.where(std > 0, std, 1.0)
  as_input = lambda a: {features.NUMERIC_KEY: (a - mean) / std}  # noqa: E731
  inputs = features.ModelInputs(numeric_width=x.shape[1], categorical=(),
                                num_classes=int(y.max()) + 1,
                                labels=tuple(str(i) for i in range(int(y.max()) + 1)))
  return inputs, (as_input(x_train), y_train), (as_input(x_eval), y_eval), (as_input(x_test),
                                                                              y_test)


# ---------------------------------------------------------------------------------------------
# Searches


def search_settings(algorithm, max_trials):
  search = user_function_config(config_lib.build_config({}), 'bench')['search']
  return {**search, 'algorithm': algorithm, 'max_trials': max_trials}


def timeline(tuner, directory):
  """Per finished trial, in order: (seconds since start, cumulative epochs, best-so-far)."""
  points, best, epochs = [], -math.inf, 0
  for finished_at, trial in tuner.bench_marks:
    with open(os.path.join(directory, files.TRIALS_PROJECT, f'trial_{trial.trial_id}',
                           files.TRIAL_STATS_FILE)) as f:
      stats = json.load(f)
    epochs += len(stats['epochs'])
    if trial.score is not None:
      best = max(best, trial.score)
    points.append({'seconds': finished_at, 'epochs': epochs, 'best': best,
                   'trial_seconds': stats['trial_seconds'],
                   'epoch_seconds': sum(stats['epoch_seconds'])})
  return points


def run_search(variant, data, seed, max_trials):
  algorithm, _, rule = variant.partition('+')
  inputs, train, valid, _ = data
  search = search_settings(algorithm, max_trials)
  space = model_space.space_by_name(search['space'])
  directory = tempfile.mkdtemp(prefix=f'bench-{algorithm}-')

  def build(hp):  # each trial from the same random state, as model/hypermodel.py does
    keras.utils.set_random_seed(seed)
    return network.build_model(hp, inputs, space)

  tuner = search_config.make_tuner(search, build, directory, seed)
  if rule:  # the rule for weak trials, as the Tuner sets it (tuner_mixin.instrument)
    tuner.reports_epochs = True
    tuner.oracle.trial_stopping = rule
  tuner.bench_marks = []
  started = time.monotonic()
  finish = tuner.on_trial_end

  def on_trial_end(trial):
    finish(trial)
    tuner.bench_marks.append((time.monotonic() - started, trial))

  tuner.on_trial_end = on_trial_end
  keras.utils.set_random_seed(seed)
  kwargs = dict(x=train[0], y=train[1], validation_data=valid, batch_size=search['batch_size'],
                callbacks=search_config.search_callbacks(search), verbose=0)
  if algorithm not in search_api.SUCCESSIVE_HALVING_ALGORITHMS:
    kwargs['epochs'] = search['max_epochs']
  tuner.search(**kwargs)
  return timeline(tuner, directory), tuner


def untuned(data, seed):
  inputs, train, valid, test = data
  search = search_settings('random', 1)
  hp = keras_tuner.HyperParameters()  # every hyperparameter at its default
  keras.utils.set_random_seed(seed)
  keras_model = network.build_model(hp, inputs, model_space.space_by_name(search['space']))
  history = keras_model.fit(train[0], train[1], validation_data=valid, verbose=0,
                            batch_size=search['batch_size'], epochs=search['max_epochs'],
                            callbacks=search_config.search_callbacks(search))
  return max(history.history['val_accuracy']), keras_model.evaluate(
      test[0], test[1], verbose=0)[1], search_api.active_values(hp)


def test_accuracy(tuner, data, seed):
  """The best trial's hyperparameters, trained afresh max_epochs, scored on the test split."""
  inputs, train, valid, test = data
  search = search_settings('random', 1)
  keras.utils.set_random_seed(seed)
  keras_model = tuner.hypermodel.build(tuner.get_best_hyperparameters(1)[0])
  keras_model.fit(train[0], train[1], validation_data=valid, verbose=0,
                  batch_size=search['batch_size'], epochs=search['max_epochs'],
                  callbacks=search_config.search_callbacks(search))
  return keras_model.evaluate(test[0], test[1], verbose=0)[1]


def reach(points, target):
  for point in points:
    if point['best'] >= target - 1e-9:
      return point['epochs'], point['seconds']
  return None, None


def best_within(points, seconds):
  within = [p['best'] for p in points if p['seconds'] <= seconds + 1e-9]
  return max(within) if within else float('nan')


# ---------------------------------------------------------------------------------------------
# Per-trial cost of stock Keras Tuner


STOCK_TRIALS = []  # module-level: Keras Tuner deep-copies callbacks, so no reference survives


class EpochTimer(keras.callbacks.Callback):

  def on_epoch_begin(self, epoch, logs=None):
    self._started = time.monotonic()

  def on_epoch_end(self, epoch, logs=None):
    STOCK_TRIALS[-1]['epoch_seconds'] += time.monotonic() - self._started


def stock_hyperband_overhead(data, seed):
  """Stock keras_tuner.Hyperband, no callbacks of ours: share of trial time outside epochs."""
  inputs, train, valid, _ = data
  search = search_settings('hyperband', 1)
  space = model_space.space_by_name(search['space'])
  tuner = keras_tuner.Hyperband(lambda hp: network.build_model(hp, inputs, space),
                                objective='val_accuracy', max_epochs=search['max_epochs'],
                                factor=search['factor'], seed=seed,
                                directory=tempfile.mkdtemp(prefix='bench-stock-'),
                                project_name='stock')
  trials = STOCK_TRIALS
  begin, end = tuner.on_trial_begin, tuner.on_trial_end

  def on_trial_begin(trial):
    begin(trial)
    trials.append({'started': time.monotonic(), 'epoch_seconds': 0.0})

  def on_trial_end(trial):
    trials[-1]['trial_seconds'] = time.monotonic() - trials[-1]['started']
    end(trial)

  tuner.on_trial_begin, tuner.on_trial_end = on_trial_begin, on_trial_end
  keras.utils.set_random_seed(seed)
  tuner.search(train[0], train[1], validation_data=valid, batch_size=search['batch_size'],
               callbacks=search_config.search_callbacks(search) + [EpochTimer()], verbose=0)
  return overhead(trials)


def overhead(points):
  total = sum(p['trial_seconds'] for p in points)
  outside = sum(p['trial_seconds'] - p['epoch_seconds'] for p in points)
  return {'trials': len(points), 'seconds_per_trial_outside': outside / len(points),
          'share_outside': outside / total}


# ---------------------------------------------------------------------------------------------


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--seeds', type=int, default=1)
  parser.add_argument('--first-seed', type=int, default=0,
                      help='seeds first-seed .. first-seed + seeds - 1 (one process per seed '
                           'with --save/--merge: a long process slows down search by search)')
  parser.add_argument('--datasets', default=','.join(DATASETS))
  parser.add_argument('--algorithms', default=','.join(ALGORITHMS),
                      help='besides hyperband, which always runs (it sets the epoch budget); '
                           'random is needed for the time-to-random\'s-best columns')
  parser.add_argument('--no-stock', action='store_true',
                      help='skip stock keras_tuner.Hyperband\'s per-trial cost (make bench)')
  parser.add_argument('--per-trial-only', action='store_true',
                      help='only item 2: stock Hyperband first (its heap untouched by ours), '
                           'then ours, on digits, in this one fresh process')
  parser.add_argument('--save', help='after each seed, write the rows so far to this JSON file '
                      '(a long run cut short keeps what it measured)')
  parser.add_argument('--merge', action='append', default=[],
                      help='a --save file of an earlier invocation (other data sets): its rows '
                           'are reported with this one\'s')
  args = parser.parse_args()
  if args.per_trial_only:
    per_trial_side_by_side()
    return
  rows, costs = load_saved(args.merge)
  for name in filter(None, args.datasets.split(',')):
    x, y = DATASETS[name]()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
      data = splits(x, y, seed)
      log(f'== {name}, seed {seed}: hyperband')
      hb_points, hb_tuner = run_search('hyperband', data, seed, 1)
      budget_trials = max(1, round(hb_points[-1]['epochs'] / search_settings(
          'random', 1)['max_epochs']))
      results = {'hyperband': (hb_points, hb_tuner)}
      for algorithm in args.algorithms.split(','):
        if algorithm != 'hyperband':
          log(f'== {name}, seed {seed}: {algorithm}, {budget_trials} trials')
          results[algorithm] = run_search(algorithm, data, seed, budget_trials)
      untuned_val, untuned_test, defaults = untuned(data, seed)
      random_best = results['random'][0][-1]['best']
      shortest = min(points[-1]['seconds'] for points, _ in results.values())
      for algorithm, (points, tuner) in results.items():
        epochs_to, seconds_to = reach(points, random_best)
        rows.append({'dataset': name, 'seed': seed, 'algorithm': algorithm,
                     'trials': len(points), 'epochs': points[-1]['epochs'],
                     'seconds': points[-1]['seconds'], 'best_val': points[-1]['best'],
                     'best_val_at_same_time': best_within(points, shortest),
                     'epochs_to_random_best': epochs_to, 'seconds_to_random_best': seconds_to,
                     'test_accuracy': test_accuracy(tuner, data, seed)})
        costs.setdefault((name, algorithm), []).append(overhead(points))
      rows.append({'dataset': name, 'seed': seed, 'algorithm': f'untuned {defaults}',
                   'best_val': untuned_val, 'test_accuracy': untuned_test})
      log(json.dumps(rows[-len(results) - 1:], default=str))
      if args.save:
        save_rows(args.save, rows, costs)
  stock = None
  if not args.no_stock:
    log('== stock keras_tuner.Hyperband on digits (per-trial cost)')
    stock = stock_hyperband_overhead(splits(*digits(), 0), 0)
  report(rows, costs, stock, args)


def save_rows(path, rows, costs):
  with open(path, 'w') as f:
    json.dump({'rows': rows, 'costs': [[list(key), value] for key, value in costs.items()]}, f,
              default=str)


def load_saved(paths):
  rows, costs = [], {}
  for path in paths:
    with open(path) as f:
      saved = json.load(f)
    rows.extend(saved['rows'])
    for key, value in saved['costs']:
      costs.setdefault(tuple(key), []).extend(value)
  return rows, costs


def per_trial_side_by_side():
  data = splits(*digits(), 0)
  log('== stock keras_tuner.Hyperband on digits')
  stock = stock_hyperband_overhead(data, 0)
  log('== our Hyperband on digits')
  points, _ = run_search('hyperband', data, 0, 1)
  ours = overhead(points)
  print('\n' + f'Date {time.strftime("%Y-%m-%d")}, {platform.machine()}, {os.cpu_count()} '
        f'cores; `{" ".join(sys.argv)}`; digits, seed 0, default Hyperband; stock first.\n')
  print('| loop | trials | s/trial outside epochs | share of trial time |')
  print('|---|---|---|---|')
  for name, measured in (('stock keras_tuner.Hyperband', stock), ('ours', ours)):
    print(f'| {name} | {measured["trials"]} | {measured["seconds_per_trial_outside"]:.2f} | '
          f'{measured["share_outside"]:.0%} |')


def median(values):
  values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
  return statistics.median(values) if values else None


def fmt(value, spec='.3f'):
  return '-' if value is None else format(value, spec)


def report(rows, costs, stock, args):
  print(f'\nDate {time.strftime("%Y-%m-%d")}, {platform.machine()}, {os.cpu_count()} cores; '
        f'`{" ".join(sys.argv)}`; {args.seeds} seed(s); default search settings '
        '(Hyperband max_epochs 10, factor 3; early stopping patience 5; batch 32).\n')
  print('| dataset | algorithm | trials | epochs | seconds | best val acc | val acc at the '
        'shortest search\'s time | epochs to random\'s best | seconds to random\'s best | '
        'test acc (best retrained) |')
  print('|---|---|---|---|---|---|---|---|---|---|')
  groups = {}
  for row in rows:
    groups.setdefault((row['dataset'], row['algorithm'].split(' {')[0]), []).append(row)
  for (dataset, algorithm), group in groups.items():
    column = lambda key, group=group: median([r.get(key) for r in group])  # noqa: E731
    reached = sum(r.get('seconds_to_random_best') is not None for r in group)
    seeds_note = f' ({reached}/{len(group)} seeds reached it)'
    print(f'| {dataset} | {algorithm} | {fmt(column("trials"), ".0f")} | '
          f'{fmt(column("epochs"), ".0f")} | {fmt(column("seconds"), ".0f")} | '
          f'{fmt(column("best_val"))} | {fmt(column("best_val_at_same_time"))} | '
          f'{fmt(column("epochs_to_random_best"), ".0f")} | '
          f'{fmt(column("seconds_to_random_best"), ".0f")}'
          f'{"" if algorithm == "untuned" or reached == len(group) else seeds_note} | '
          f'{fmt(column("test_accuracy"))} |')
  print('\nMedians over seeds; "-" where it does not apply. Per seed:\n')
  print('```')
  for row in rows:
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}))
  print('```')
  print('\nPer-trial cost: seconds of a trial spent outside its training epochs.\n')
  print('| loop | dataset | trials | s/trial outside epochs | share of trial time |')
  print('|---|---|---|---|---|')
  if stock:
    print(f'| stock keras_tuner.Hyperband | digits | {stock["trials"]} | '
          f'{stock["seconds_per_trial_outside"]:.2f} | {stock["share_outside"]:.0%} |')
  for (dataset, algorithm), measured in costs.items():
    print(f'| ours, {algorithm} | {dataset} | {sum(m["trials"] for m in measured)} | '
          f'{median([m["seconds_per_trial_outside"] for m in measured]):.2f} | '
          f'{median([m["share_outside"] for m in measured]):.0%} |')


if __name__ == '__main__':
  main()
