"""Search overhead: the Tuner's search against a plain loop over the same trials.

On a finished run's transformed data, in one process:
- search: our tuner_fn builds the tuner exactly as the Tuner executor does (datasets.prepare,
  the default search settings, serial) and `tuner.search(**fit_kwargs)` runs, timed;
- plain loop: the same trials, read back from the search's trial files (hyperparameters, and
  the epochs each one really trained), each built afresh with `network.build_model` and
  fitted with `model.fit` on the same cached tf.data datasets (validation included), with no
  tuner around it: no oracle, checkpoints, state files or callbacks of ours.
The two alternate (search, loop, loop, search, ...), so neither always runs on a warm heap.
The ratio search / loop is what the tuner costs around the training it contains.

    make run                                    # once: a finished run to read the data from
    .venv/bin/python bench/search_overhead.py [runs/hypertune-digits] [--repeats 2]
"""

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import common  # noqa: E402


def prepared_tuner(run_dir, search_overrides):
  """tuner_fn's result on the run's data, as the executor builds it, in a fresh directory."""
  from tfx.components.trainer import fn_args_utils
  from tfx_hypertune.model import tuner_fn
  from tfx_hypertune.pipeline import config as config_lib
  from tfx_hypertune.pipeline.pipeline import user_function_config
  work = tempfile.mkdtemp(prefix='bench-overhead-search-')
  config = config_lib.build_config({'search': search_overrides})
  custom = user_function_config(config, 'bench')
  inputs, _ = common.tuner_inputs(run_dir, os.path.join(work, 'hp'), os.path.join(work, 'res'))
  fn_args = fn_args_utils.get_common_fn_args(
      inputs, common.tuner_exec_properties(custom), working_dir=work)
  fn_args.custom_config = custom
  return tuner_fn.tuner_fn(fn_args), work


def warm(dataset):
  """One pass, so the in-memory cache is full before anything is timed."""
  for _ in dataset:
    pass


def run_search(result):
  started = time.monotonic()
  result.tuner.search(**result.fit_kwargs)
  return time.monotonic() - started


def trials_of(work):
  """(hyperparameter values, epochs trained) of every finished trial, in trial order."""
  trials = []
  for path in sorted(glob.glob(os.path.join(work, 'trials', 'trial_*', 'trial.json'))):
    with open(path) as f:
      trial = json.load(f)
    with open(os.path.join(os.path.dirname(path), 'trial_stats.json')) as f:
      stats = json.load(f)
    if trial['status'] == 'COMPLETED':
      trials.append((trial['hyperparameters']['values'], len(stats['epochs'])))
  return trials


def plain_loop(result, trials):
  """The same trials with no tuner: build, fit the epochs the trial trained, next."""
  import keras_tuner
  train, validation = result.fit_kwargs['x'], result.fit_kwargs['validation_data']
  started = time.monotonic()
  for values, epochs in trials:
    hyperparameters = keras_tuner.HyperParameters()
    hyperparameters.values.update(values)
    model = result.tuner.hypermodel.build(hyperparameters)
    model.fit(train, validation_data=validation, epochs=epochs, verbose=0)
  return time.monotonic() - started


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('run_dir', nargs='?', default='runs/hypertune-digits')
  parser.add_argument('--repeats', type=int, default=2)
  parser.add_argument('--algorithm', default='hyperband')
  args = parser.parse_args()
  searches, loops, trials = [], [], None
  for repeat in range(args.repeats):
    result, work = prepared_tuner(args.run_dir, {'algorithm': args.algorithm,
                                                 'parallel_trials': 1, 'warm_start_trials': 0})
    warm(result.fit_kwargs['x'])
    warm(result.fit_kwargs['validation_data'])
    order = ('search', 'loop') if repeat % 2 == 0 else ('loop', 'search')
    for step in order:  # repeat 1 searches first: the loop replays its trials
      common.log(f'== repeat {repeat + 1}/{args.repeats}: {step}')
      if step == 'search':
        searches.append(run_search(result))
        trials = trials or trials_of(work)
      else:
        loops.append(plain_loop(result, trials))
      common.log(f'   {(searches if step == "search" else loops)[-1]:.1f} s')
  epochs = sum(e for _, e in trials)
  print('\n' + common.machine_line(f'{args.algorithm}, default settings: {len(trials)} trials, '
                                   f'{epochs} epochs; {args.repeats} alternating repeats') + '\n')
  print('| run | search s | plain loop s | search / loop |')
  print('|---|---|---|---|')
  for i, (search_s, loop_s) in enumerate(zip(searches, loops)):
    print(f'| {i + 1} | {search_s:.1f} | {loop_s:.1f} | {search_s / loop_s:.2f} |')
  ratios = [search / loop for search, loop in zip(searches, loops)]
  print(f'\nMedian search / plain loop: {statistics.median(ratios):.2f} (target <= 1.3).')


if __name__ == '__main__':
  main()
