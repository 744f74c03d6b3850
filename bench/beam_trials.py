"""Benchmark 9: trials on Beam (2 worker processes) against the local warm pool (2 workers)
and against 1 worker, on this machine.

Our Tuner executor runs the same search (the default: Hyperband, default settings, same seed;
`--max-epochs N` for a smaller plan) on a finished run's transformed data, three ways, in turn,
repeated:
- 1 worker: the search in the executor's process;
- 2, warm pool: two local Keras Tuner workers forked from the warm pool, warmed beforehand as
  `hypertune run` does while the data components run;
- 2, Beam: batches of 2 trials, each batch a Beam pipeline on the DirectRunner with two SDK
  worker processes (`--direct_running_mode=multi_processing --direct_num_workers=2`), each
  forking trial processes from its own warm pool.
For Beam, each batch's cost beyond its longest trial is split into its parts (medians over the
batches): the pipeline (job start, two SDK worker processes, teardown), the worker's start
(its warm pool importing TensorFlow: the wait for the first fork), and the tuner rebuild in the
trial process (tuner_fn and Keras Tuner reloading the project).

    make run                                   # once: a finished run to read the data from
    .venv/bin/python bench/beam_trials.py [runs/hypertune-digits] [--repeats 1] [--max-epochs N]
    .venv/bin/python bench/beam_trials.py --schedules   # Hyperband on a cluster, on paper

`--schedules` drives Keras Tuner's own Hyperband oracle without training (a trial takes its
epochs in time) in batches as trials on Beam do, and continuously as a pool of free workers
does, for 2 to 100 workers: how long the search's critical path is, in epochs, and what share
of the workers' time is used.
"""

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import common  # noqa: E402
import parallel_trials  # noqa: E402

TWO_BEAM_WORKERS = ['--direct_running_mode=multi_processing', '--direct_num_workers=2']


def search_once(run_dir, workers, beam_args, max_epochs):
  result = parallel_trials.search_once(run_dir, workers, 'hyperband', None, beam_args=beam_args,
                                       max_epochs=max_epochs)
  if beam_args:
    with open(os.path.join(result['work'], 'results', 'search_info.json')) as f:
      result.update(batch_costs(result['work'], json.load(f)['beam']['batches']))
  return result


def batch_costs(work, batches):
  """Medians over the batches of what a batch costs beyond its longest trial, by part."""
  stats, results = {}, {}
  for path in glob.glob(os.path.join(work, 'state', '*', 'trials', 'trial_*', 'trial_stats.json')):
    with open(path) as f:
      stats[os.path.basename(os.path.dirname(path))[len('trial_'):]] = json.load(f)
  for path in glob.glob(os.path.join(work, 'state', '*', 'beam', '*', 'trial_*.json')):
    with open(path) as f:
      results[os.path.basename(path)[len('trial_'):-len('.json')]] = json.load(f)
  parts = {'batch': [], 'pipeline': [], 'worker_start': [], 'tuner_rebuild': [], 'trial': []}
  for batch in batches:
    longest = max(batch['trials'], key=lambda t: results[t]['process_seconds'])
    process, trial = results[longest]['process_seconds'], stats[longest]['trial_seconds']
    build = results[longest]['tuner_build_seconds']
    parts['batch'].append(batch['seconds'])
    parts['pipeline'].append(batch['seconds'] - process)
    parts['worker_start'].append(process - build - trial)
    parts['tuner_rebuild'].append(build)
    parts['trial'].append(trial)
  return {'batches': len(batches),
          **{f'{name}_seconds': statistics.median(v) for name, v in parts.items()}}


def _scored_oracle(max_epochs, factor):
  import keras_tuner
  hp = keras_tuner.HyperParameters()
  hp.Int('units', 1, 10_000)
  oracle = keras_tuner.oracles.HyperbandOracle(
      objective=keras_tuner.Objective('score', 'max'), max_epochs=max_epochs, factor=factor,
      hyperband_iterations=1, seed=1, hyperparameters=hp)
  oracle._set_project_dir(tempfile.mkdtemp(), 'plan')  # noqa: SLF001
  oracle.verbose = 0
  return oracle


def _epochs(trial):
  values = trial.hyperparameters.values
  return values['tuner/epochs'] - values['tuner/initial_epoch']


def _finish(oracle, trial):
  oracle.update_trial(trial.trial_id, {'score': float(trial.hyperparameters.get('units'))})
  trial.status = 'COMPLETED'
  oracle.end_trial(trial)


def batched_schedule(max_epochs, factor, workers):
  """Keras Tuner's Hyperband oracle (no training; a trial takes its epochs in time) driven as
  trials on Beam drive it: batches of up to `workers`, each waiting for its longest trial.
  Returns (trials, batches, epochs of work, span in epochs)."""
  from tfx_hypertune.components.tuner import beam_trials
  oracle = _scored_oracle(max_epochs, factor)
  trials = batches = work = span = 0
  while True:
    batch = beam_trials.next_batch(oracle, workers)
    if not batch:
      return trials, batches, work, span
    batches += 1
    trials += len(batch)
    work += sum(_epochs(t) for t in batch)
    span += max(_epochs(t) for t in batch)
    for trial in batch:
      _finish(oracle, trial)


def continuous_schedule(max_epochs, factor, workers):
  """The same oracle with no batches: a free worker asks for a trial at once (the local
  pool's rule, and Keras Tuner's own distributed mode). Returns (trials, work, span)."""
  import heapq
  oracle = _scored_oracle(max_epochs, factor)
  now, running, free, trials, work = 0.0, [], list(range(workers)), 0, 0
  while True:
    while free:
      trial = oracle.create_trial(f'w{free[-1]}')
      if trial.status != 'RUNNING':
        break
      worker = free.pop()
      trials += 1
      work += _epochs(trial)
      heapq.heappush(running, (now + _epochs(trial), trials, worker, trial))
    if not running:
      return trials, work, now
    now, _, worker, trial = heapq.heappop(running)
    _finish(oracle, trial)
    free.append(worker)


def print_schedules():
  print('| Hyperband (max_epochs, factor) | workers | trials | batches | span in epochs, '
        'batched | utilisation, batched | span, continuous | utilisation, continuous |')
  print('|---|---|---|---|---|---|---|---|')
  for max_epochs, factor in ((10, 3), (81, 3)):
    for workers in (2, 10, 30, 100):
      trials, batches, work, span = batched_schedule(max_epochs, factor, workers)
      _, _, continuous_span = continuous_schedule(max_epochs, factor, workers)
      print(f'| {max_epochs}, {factor} | {workers} | {trials} | {batches} | {span} | '
            f'{work / (workers * span):.2f} | {continuous_span:.0f} | '
            f'{work / (workers * continuous_span):.2f} |')


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('run_dir', nargs='?', default='runs/hypertune-digits')
  parser.add_argument('--repeats', type=int, default=1)
  parser.add_argument('--max-epochs', type=int, default=None,
                      help='a smaller Hyperband plan (default: the default search)')
  parser.add_argument('--schedules', action='store_true',
                      help='only the Hyperband schedules on paper (no training, seconds)')
  args = parser.parse_args()
  if args.schedules:
    print_schedules()
    return
  variants = {'1 worker': (1, False, None), '2, warm pool': (2, True, None),
              '2, Beam (DirectRunner, 2 processes)': (2, False, TWO_BEAM_WORKERS)}

  def run(workers, warm, beam_args):
    parallel_trials.pool(warm)
    return search_once(args.run_dir, workers, beam_args, args.max_epochs)

  measured = common.alternating(variants, args.repeats, run)
  what = ('Hyperband, default settings' if not args.max_epochs
          else f'Hyperband, max_epochs={args.max_epochs}')
  print('\n' + common.machine_line(f'{what}, {args.repeats} alternating repeat(s)') + '\n')
  print('| trials run | trials | seconds end to end (median) | speed-up vs 1 worker '
        '(per repeat) |')
  print('|---|---|---|---|')
  serial = measured['1 worker']
  for name, results in measured.items():
    ratios = [a['seconds'] / b['seconds'] for a, b in zip(serial, results)]
    print(f'| {name} | {results[0]["trials"]} | '
          f'{statistics.median(r["seconds"] for r in results):.0f} | '
          f'{statistics.median(ratios):.2f} ({", ".join(f"{r:.2f}" for r in ratios)}) |')
  beam = measured['2, Beam (DirectRunner, 2 processes)']
  median = lambda key: statistics.median(r[key] for r in beam)  # noqa: E731
  print('\nPer Beam batch (medians): '
        f'{median("batches"):.0f} batches; a batch {median("batch_seconds"):.1f} s, of which '
        f'the longest trial {median("trial_seconds"):.1f} s; per-batch cost: pipeline '
        f'{median("pipeline_seconds"):.1f} s, worker start {median("worker_start_seconds"):.1f}'
        f' s, tuner rebuild {median("tuner_rebuild_seconds"):.1f} s.')


if __name__ == '__main__':
  main()
