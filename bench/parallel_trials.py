"""Benchmark 5: trials per minute with 1 and 2 parallel Keras Tuner workers on this machine.

Our Tuner executor runs the same random search (fixed number of trials, same seed) on a
finished run's transformed data, with search.parallel_trials 1 and 2, alternating, repeated.
Two rates: end to end (the executor's whole Do, including starting worker processes, each of
which imports TensorFlow) and steady (trials per second of each worker's trial time, summed
over workers: the rate once the workers are up).

    make run                                   # once: a finished run to read the data from
    .venv/bin/python bench/parallel_trials.py [runs/hypertune-digits] [--trials 12 --repeats 2]
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


def search_once(run_dir, workers, trials, epochs):
  from components.tuner import executor  # pylint: disable=import-outside-toplevel
  from pipeline import config as config_lib  # pylint: disable=import-outside-toplevel
  from pipeline.pipeline import user_function_config  # pylint: disable=import-outside-toplevel
  work = tempfile.mkdtemp(prefix=f'bench-parallel-{workers}-')
  config = config_lib.build_config({'search': {
      'algorithm': 'random', 'max_trials': trials, 'max_epochs': epochs,
      'parallel_trials': workers, 'warm_start_trials': 0}})
  custom = user_function_config(config, f'bench-{time.time()}')
  inputs, outputs = common.tuner_inputs(run_dir, os.path.join(work, 'hp'),
                                        os.path.join(work, 'results'))
  started = time.monotonic()
  executor.Executor().Do(inputs, outputs, common.tuner_exec_properties(
      custom, parallel_trials=workers, warm_start_trials=0,
      search_state_dir=os.path.join(work, 'state')))
  seconds = time.monotonic() - started
  by_worker = {}
  for path in glob.glob(os.path.join(work, 'state', '*', 'trials', 'trial_*', 'trial_stats.json')):
    with open(path) as f:
      stats = json.load(f)
    by_worker.setdefault(stats.get('tuner_id'), []).append(stats['trial_seconds'])
  done = sum(len(v) for v in by_worker.values())
  steady = sum(len(v) / sum(v) for v in by_worker.values()) * 60
  return {'seconds': seconds, 'trials': done, 'per_min': done / seconds * 60,
          'steady_per_min': steady}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('run_dir', nargs='?', default='runs/hypertune-digits')
  parser.add_argument('--trials', type=int, default=12)
  parser.add_argument('--epochs', type=int, default=10)
  parser.add_argument('--repeats', type=int, default=2)
  args = parser.parse_args()
  measured = {1: [], 2: []}
  for repeat in range(args.repeats):
    for workers in (1, 2):
      common.log(f'== repeat {repeat + 1}/{args.repeats}: {workers} worker(s)')
      result = search_once(args.run_dir, workers, args.trials, args.epochs)
      measured[workers].append(result)
      common.log(json.dumps(result))
  print('\n' + common.machine_line(f'random search, {args.trials} trials of up to '
                                   f'{args.epochs} epochs, {args.repeats} alternating repeats') + '\n')
  print('| workers | trials | seconds (median) | trials/min end to end | trials/min steady |')
  print('|---|---|---|---|---|')
  for workers, results in measured.items():
    median = lambda key: statistics.median(r[key] for r in results)  # noqa: E731
    print(f'| {workers} | {results[0]["trials"]} | {median("seconds"):.0f} | '
          f'{median("per_min"):.1f} | {median("steady_per_min"):.1f} |')
  ratio = lambda key: [b[key] / a[key] for a, b in zip(measured[1], measured[2])]  # noqa: E731
  print(f'\n2 workers / 1 worker: end to end {", ".join(f"{r:.2f}" for r in ratio("per_min"))}; '
        f'steady {", ".join(f"{r:.2f}" for r in ratio("steady_per_min"))} (per repeat); '
        'target >= 1.6.')


if __name__ == '__main__':
  main()
