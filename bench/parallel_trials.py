"""Benchmark 5: 1 against 2 parallel Keras Tuner workers on this machine.

Our Tuner executor runs the same search (the default one: Hyperband, default settings, same
seed; or `--algorithm random --trials N`) on a finished run's transformed data, with
search.parallel_trials 1 and 2, alternating, repeated. Two workers run in two ways:
- warm: the worker pool (warm_pool.prewarm) was started and finished importing before the
  Tuner began, as in `hypertune run`, where it warms while the data components run;
- cold: the pool starts when the Tuner does (as in a Kubeflow pod), so its imports overlap
  only with the Tuner reading its data.
Two rates: end to end (the executor's whole Do: data, search, report) and steady (trials per
second of each worker's trial time, summed over workers: the rate once the workers are up).

    make run                                   # once: a finished run to read the data from
    .venv/bin/python bench/parallel_trials.py [runs/hypertune-digits] [--repeats 2]
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


def pool(warm):
  """Stops the worker pool, and for `warm` starts it again and waits until it has imported
  everything (a no-op process forked from it returns only then)."""
  from multiprocessing import forkserver
  from tfx_hypertune.components.tuner import warm_pool
  forkserver._forkserver._stop()  # noqa: SLF001
  if warm:
    warm_pool.prewarm('tfx_hypertune.model.tuner_fn.tuner_fn')
    started = time.monotonic()
    process = warm_pool.pool().Process(target=os.getpid)
    process.start()
    process.join()
    common.log(f'   worker pool warm after {time.monotonic() - started:.1f} s')


def search_once(run_dir, workers, algorithm, trials, beam_args=None, max_epochs=None):
  """One search by our Tuner executor on the run's transformed data: `workers` local workers,
  or with `beam_args` its trials on Beam in batches of `workers` (the arguments as TFX hands
  them to a Beam executor). Returns its timings and `work`, the folder of its state."""
  from tfx.dsl.components.base import base_beam_executor
  from tfx_hypertune.components.tuner import executor
  from tfx_hypertune.pipeline import config as config_lib
  from tfx_hypertune.pipeline.pipeline import user_function_config
  work = tempfile.mkdtemp(prefix=f'bench-parallel-{workers}-')
  search = {'algorithm': algorithm, 'parallel_trials': workers, 'warm_start_trials': 0}
  if not algorithm.startswith('hyperband'):
    search['max_trials'] = trials
  if max_epochs:
    search['max_epochs'] = max_epochs
  config = config_lib.build_config({'search': search})
  custom = user_function_config(config, f'bench-{time.time()}')
  inputs, outputs = common.tuner_inputs(run_dir, os.path.join(work, 'hp'),
                                        os.path.join(work, 'results'))
  context = (base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args)
             if beam_args else None)
  started = time.monotonic()
  executor.Executor(context).Do(inputs, outputs, common.tuner_exec_properties(
      custom, parallel_trials=workers, warm_start_trials=0,
      search_state_dir=os.path.join(work, 'state'), trials_on='beam' if beam_args else 'local'))
  seconds = time.monotonic() - started
  by_worker = {}
  for path in glob.glob(os.path.join(work, 'state', '*', 'trials', 'trial_*', 'trial_stats.json')):
    with open(path) as f:
      stats = json.load(f)
    by_worker.setdefault(stats.get('tuner_id'), []).append(stats['trial_seconds'])
  done = sum(len(v) for v in by_worker.values())
  steady = sum(len(v) / sum(v) for v in by_worker.values()) * 60
  return {'seconds': seconds, 'trials': done, 'per_min': done / seconds * 60,
          'steady_per_min': steady, 'work': work}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('run_dir', nargs='?', default='runs/hypertune-digits')
  parser.add_argument('--algorithm', default='hyperband')
  parser.add_argument('--trials', type=int, default=12, help='for random/bayesian')
  parser.add_argument('--repeats', type=int, default=2)
  args = parser.parse_args()
  variants = {'1': (1, False), '2, warm pool': (2, True), '2, cold pool': (2, False)}

  def run(workers, warm):
    pool(warm)
    return search_once(args.run_dir, workers, args.algorithm, args.trials)

  measured = common.alternating(variants, args.repeats, run)
  what = ('Hyperband, default settings' if args.algorithm == 'hyperband'
          else f'{args.algorithm}, {args.trials} trials')
  print('\n' + common.machine_line(f'{what}, {args.repeats} alternating repeats') + '\n')
  print('| workers | trials | seconds (median) | speed-up end to end (per repeat) | '
        'trials/min steady | speed-up steady |')
  print('|---|---|---|---|---|---|')
  serial = measured['1']
  for name, results in measured.items():
    median = lambda key, results=results: statistics.median(r[key] for r in results)  # noqa: E731
    end_to_end = [a['seconds'] / b['seconds'] for a, b in zip(serial, results)]
    steady = [b['steady_per_min'] / a['steady_per_min'] for a, b in zip(serial, results)]
    print(f'| {name} | {results[0]["trials"]} | {median("seconds"):.0f} | '
          f'{statistics.median(end_to_end):.2f} ({", ".join(f"{r:.2f}" for r in end_to_end)}) | '
          f'{median("steady_per_min"):.1f} | {statistics.median(steady):.2f} |')
  print('\nSpeed-up: the serial search\'s seconds over this one\'s, repeat by repeat '
        '(end to end: the executor\'s whole Do); target >= 1.6 end to end.')


if __name__ == '__main__':
  main()
