"""Benchmark 9: trials on Beam, one job per search (2 slots on the DirectRunner's worker
processes) against the local warm pool (2 workers) and against 1 worker, on this machine; and
on paper, how busy 2 to 100 workers are kept by each way of scheduling trials.

Our Tuner executor runs the same search (`--algorithm`, default hyperband with the default
settings, same seed; `--max-epochs N` for a smaller plan) on a finished run's transformed data,
three ways, in turn, repeated:
- 1 worker: the search in the executor's process;
- 2, warm pool: two local Keras Tuner workers forked from the warm pool, warmed beforehand as
  `hypertune run` does while the data components run;
- 2, Beam: one Beam job on the DirectRunner with two SDK worker processes
  (`--direct_running_mode=multi_processing --direct_num_workers=2`), one slot on each, each
  slot given its next trial the moment its last one ends (components/tuner/beam_trials.py).
For Beam it also reports the job's start (from the search's start to the first slot's
heartbeat: paid once per search) and, per trial, what a trial costs beyond its training (the
trial process forked from the slot's warm pool, the tuner rebuilt in it, the result through
the exchange): medians over the trials.

    make run                                   # once: a finished run to read the data from
    .venv/bin/python bench/beam_trials.py [runs/hypertune-digits] [--repeats 1] [--max-epochs N]
    .venv/bin/python bench/beam_trials.py --schedules   # on paper, 2 to 100 workers (seconds)
    .venv/bin/python bench/beam_trials.py --exchange    # what the driver's look costs

`--schedules` drives the oracles without training (a trial takes its epochs in time, 1 epoch =
1 unit; no job start, no per-trial cost) three ways: Hyperband in batches (each waits for its
longest trial: how trials on Beam ran before one job per search), Hyperband with a slot
refilled as soon as it is free (the one job), and ASHA refilled the same way, each with the
same budget of epochs. It reports the span (the search's length, in epochs) and the busy
share (epochs trained / (workers x span)), for one Hyperband iteration's budget and for a
budget sized to the cluster (enough Hyperband iterations for at least CLUSTER_BUDGET epochs
per worker): no schedule keeps 30 workers busy on one iteration of max_epochs=10, whose
whole budget is 4 epochs a worker while its longest trial alone trains 10.
"""

import argparse
import glob
import heapq
import json
import math
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import common  # noqa: E402
import parallel_trials  # noqa: E402

TWO_BEAM_WORKERS = ['--direct_running_mode=multi_processing', '--direct_num_workers=2']
SCHEDULE_WORKERS = (2, 10, 30, 100)
SCHEDULE_PLANS = ((10, 3), (81, 3))  # (max_epochs, factor): our default, and Keras Tuner's
# A budget sized to the cluster: at least this many max_epochs-long trials' worth of epochs
# per worker (a trial of max_epochs then spans at most a fifth of the search).
CLUSTER_BUDGET = 5


def search_once(run_dir, workers, beam_args, max_epochs, algorithm):
  result = parallel_trials.search_once(run_dir, workers, algorithm, None, beam_args=beam_args,
                                       max_epochs=max_epochs)
  if beam_args:
    with open(os.path.join(result['work'], 'results', 'search_info.json')) as f:
      beam = json.load(f)['beam']
    result.update(job_start_seconds=beam['job_start_seconds'],
                  job_attempts=beam['job_attempts'],
                  trials_per_slot=beam['trials_per_slot'],
                  **per_trial_costs(result['work'], beam['exchange']))
  return result


def per_trial_costs(work, exchange_dir):
  """Medians over the trials on Beam: the trial process's life from its assignment to its
  result, and how much of it was not the trial's training (trial_stats' trial_seconds)."""
  stats = {}
  for path in glob.glob(os.path.join(work, 'state', '*', 'trials', 'trial_*', 'trial_stats.json')):
    with open(path) as f:
      stats[os.path.basename(os.path.dirname(path))[len('trial_'):]] = json.load(f)
  process, outside, rebuild = [], [], []
  for path in glob.glob(os.path.join(exchange_dir, 'slot-*', 'result-*.json')):
    with open(path) as f:
      result = json.load(f)
    assignment = path.replace('result-', 'assign-')
    with open(assignment) as f:
      trial_id = json.load(f)['trial_id']
    if trial_id not in stats or 'process_seconds' not in result:
      continue
    process.append(result['process_seconds'])
    outside.append(result['process_seconds'] - stats[trial_id]['trial_seconds'])
    rebuild.append(result.get('tuner_build_seconds') or 0.0)
  median = lambda values: statistics.median(values) if values else float('nan')  # noqa: E731
  return {'trial_process_seconds': median(process), 'per_trial_cost_seconds': median(outside),
          'tuner_rebuild_seconds': median(rebuild)}


# ---------------------------------------------------------------------------------------------
# On paper: the oracles without training.

def _oracle(algorithm, max_epochs, factor, iterations):
  import keras_tuner
  from tfx_hypertune.components.tuner import asha
  hp = keras_tuner.HyperParameters()
  hp.Int('units', 1, 10**6)
  common_args = dict(objective=keras_tuner.Objective('score', 'max'), max_epochs=max_epochs,
                     factor=factor, seed=1, hyperparameters=hp)
  if algorithm == 'asha':
    oracle = asha.ASHAOracle(
        max_configurations=asha.default_configurations(max_epochs, factor) * iterations,
        **common_args)
  else:
    oracle = keras_tuner.oracles.HyperbandOracle(hyperband_iterations=iterations,
                                                 **common_args)
  oracle._set_project_dir(tempfile.mkdtemp(), 'plan')  # noqa: SLF001
  oracle.verbose = 0
  return oracle


def _epochs(trial):
  values = trial.hyperparameters.values
  return values['tuner/epochs'] - values.get('tuner/initial_epoch', 0)


def _finish(oracle, trial):
  oracle.update_trial(trial.trial_id, {'score': float(trial.hyperparameters.get('units'))})
  trial.status = 'COMPLETED'
  oracle.end_trial(trial)


def batched_schedule(oracle, workers):
  """Trials in batches of up to `workers` (as many as the oracle gives before it answers IDLE
  or STOPPED), each batch waiting for its longest trial. Returns (trials, work, span)."""
  trials = work = span = 0
  while True:
    batch = []
    for place in range(workers):
      trial = oracle.create_trial(f'w{place}')
      if trial.status != 'RUNNING':
        break
      batch.append(trial)
    if not batch:
      return trials, work, span
    trials += len(batch)
    work += sum(_epochs(t) for t in batch)
    span += max(_epochs(t) for t in batch)
    for trial in batch:
      _finish(oracle, trial)


def refilled_schedule(oracle, workers):
  """A free worker asks for its next trial at once (one job per search: a slot refilled the
  moment its trial ends). Returns (trials, work, span)."""
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


SCHEDULES = {
    'Hyperband, batches': ('hyperband', batched_schedule),
    'Hyperband, one job': ('hyperband', refilled_schedule),
    'ASHA, one job': ('asha', refilled_schedule),
}


def cluster_iterations(max_epochs, factor, workers):
  from tfx_hypertune.components.tuner import asha
  return max(1, math.ceil(CLUSTER_BUDGET * workers * max_epochs
                          / asha.hyperband_epochs(max_epochs, factor)))


def print_schedules():
  print(common.machine_line('on paper: 1 epoch = 1 unit of time') + '\n')
  print('| max_epochs, factor | budget | workers | Hyperband iterations | '
        + ' | '.join(f'{name}: trials, span, busy' for name in SCHEDULES) + ' |')
  print('|---|---|---|---|' + '---|' * len(SCHEDULES))
  for max_epochs, factor in SCHEDULE_PLANS:
    for budget in ('one iteration', 'sized to the cluster'):
      for workers in SCHEDULE_WORKERS:
        iterations = (1 if budget == 'one iteration'
                      else cluster_iterations(max_epochs, factor, workers))
        cells = []
        for algorithm, schedule in SCHEDULES.values():
          trials, work, span = schedule(_oracle(algorithm, max_epochs, factor, iterations),
                                        workers)
          cells.append(f'{trials}, {span:.0f}, {work / (workers * span):.2f}')
        print(f'| {max_epochs}, {factor} | {budget} | {workers} | {iterations} | '
              + ' | '.join(cells) + ' |')


# ---------------------------------------------------------------------------------------------
# What one look at the exchange costs.

EXCHANGE_SLOTS = (2, 30, 100)
TRIALS_PER_SLOT = 5     # assign and result files per slot (a search well under way)
EPOCHS_PER_TRIAL = 4    # epoch reports per trial
LOOKS = 5


def fill_exchange(root, slots):
  from tfx_hypertune.components.tuner import exchange
  ex = exchange.Exchange(root)
  for slot in range(slots):
    ex.beat(slot, {'count': 1})
    for seq in range(1, TRIALS_PER_SLOT + 1):
      ex.assign(slot, seq, {'trial_id': f'{slot}-{seq}'})
      ex.write_result(slot, seq, {'updates': [], 'status': 'COMPLETED'})
      for epoch in range(1, EPOCHS_PER_TRIAL + 1):
        ex.report_epoch(slot, seq, epoch, {'metrics': {'score': 0.5}, 'step': epoch - 1})
  return ex


def look_seconds(ex):
  import time
  times = []
  for _ in range(LOOKS):
    started = time.monotonic()
    ex.look()
    times.append(time.monotonic() - started)
  return statistics.median(times)


def print_exchange_looks():
  """The driver's look (one listing of the exchange) on a local disk and on an S3 server
  (moto's, on 127.0.0.1: the request path of MinIO or S3 without the network)."""
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  from tests.e2e import helpers
  from tfx_hypertune.components import filesystems
  files_each = 1 + TRIALS_PER_SLOT * (2 + EPOCHS_PER_TRIAL)  # a heartbeat, per trial the rest
  print(common.machine_line(f'{files_each} files per slot, median of {LOOKS} looks') + '\n')
  print('| slots | files | look, local disk (ms) | look, S3 server on 127.0.0.1 (ms) |')
  print('|---|---|---|---|')
  with helpers.moto_s3_server('bench') as (env, _):
    os.environ.update({k: v for k, v in env.items() if k.startswith(('AWS_', 'S3_'))})
    filesystems.support('s3://bench')
    for slots in EXCHANGE_SLOTS:
      local = look_seconds(fill_exchange(tempfile.mkdtemp(prefix='bench-exchange-'), slots))
      remote = look_seconds(fill_exchange(f's3://bench/exchange-{slots}', slots))
      print(f'| {slots} | {slots * files_each} | {local * 1000:.0f} | '
            f'{remote * 1000:.0f} |')


# ---------------------------------------------------------------------------------------------
# On this machine.

BEAM = '2, Beam (one job, DirectRunner, 2 processes)'


def print_measured(measured, args):
  what = (f'{args.algorithm}, default settings' if not args.max_epochs
          else f'{args.algorithm}, max_epochs={args.max_epochs}')
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
  beam = measured[BEAM]
  median = lambda key: statistics.median(r[key] for r in beam)  # noqa: E731
  print(f'\nBeam (medians over repeats): job start {median("job_start_seconds"):.1f} s, once '
        f'per search; per trial: process {median("trial_process_seconds"):.1f} s, of which '
        f'{median("per_trial_cost_seconds"):.1f} s beyond training (tuner rebuild '
        f'{median("tuner_rebuild_seconds"):.1f} s); trials per slot '
        f'{[r["trials_per_slot"] for r in beam]}; job attempts '
        f'{[r["job_attempts"] for r in beam]}.')


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('run_dir', nargs='?', default='runs/hypertune-digits')
  parser.add_argument('--repeats', type=int, default=1)
  parser.add_argument('--algorithm', default='hyperband')
  parser.add_argument('--max-epochs', type=int, default=None,
                      help='a smaller plan (default: the default search)')
  parser.add_argument('--schedules', action='store_true',
                      help='only the schedules on paper (no training, seconds)')
  parser.add_argument('--exchange', action='store_true',
                      help="only the cost of the driver's look at the exchange")
  args = parser.parse_args()
  if args.schedules:
    print_schedules()
    return
  if args.exchange:
    print_exchange_looks()
    return
  variants = {'1 worker': (1, False, None), '2, warm pool': (2, True, None),
              BEAM: (2, False, TWO_BEAM_WORKERS)}

  def run(workers, warm, beam_args):
    parallel_trials.pool(warm)
    return search_once(args.run_dir, workers, beam_args, args.max_epochs, args.algorithm)

  print_measured(common.alternating(variants, args.repeats, run), args)


if __name__ == '__main__':
  main()
