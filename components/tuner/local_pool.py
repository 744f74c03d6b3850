"""Parallel trials on this machine: one chief oracle in the executor's process, N Keras Tuner
workers as local processes, talking over gRPC on loopback (Keras Tuner's own distributed mode:
KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT).

Workers come from a warm pool: multiprocessing's fork server, started (`prewarm`) with
TensorFlow, Keras Tuner, TFX and the tuner_fn's module already imported, forks each worker in
well under a second. Started as a fresh interpreter, a worker spent about 20 s importing before
its first trial, which made two workers slower than one on the default search
(BENCHMARKS.md, "Parallel trials"). The server only imports: it never runs a TensorFlow op, so
no TensorFlow thread pool exists yet to be lost in the fork. `hypertune run` prewarms while the
data components run; the executor prewarms too (a no-op if it is running), so a Tuner in its own
pod still overlaps the imports with reading its data.

Keras Tuner's chief loop (keras_tuner/src/distribute/oracle_chief.py) waits for every ongoing
trial to end, so one dead worker would hang it forever. Here the chief serves the same gRPC
servicer but watches the worker processes: a worker that exits with an error is reported, its
trial goes back to the oracle to be handed to the next worker that asks (OracleExtras.run_again;
FAILED after MAX_LOST_RUNS losses), and a new worker takes the dead one's place (up to
MAX_REPLACEMENTS in a search), so the search finishes its plan.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import socket
import tempfile
import time
from concurrent import futures
from typing import Any, Dict, List

import grpc
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import json_utils

from tfx_hypertune.components.tuner import (devices, files, keras_tuner_private, plan,
                                            progress, warm_pool, worker)

POLL_SECONDS = 0.5
TUNER_PREFIX = 'tuner'  # the workers' Keras Tuner ids: tuner0, tuner1, ...
# Dead workers replaced in one search, at most (a worker that dies at once every time, a
# broken image say, must not be restarted for ever).
MAX_REPLACEMENTS = 4


CGROUP_V2_CPU_MAX = '/sys/fs/cgroup/cpu.max'
CGROUP_V1_QUOTA = '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'
CGROUP_V1_PERIOD = '/sys/fs/cgroup/cpu/cpu.cfs_period_us'


def cpu_limit(cpu_max: str = CGROUP_V2_CPU_MAX, v1_quota: str = CGROUP_V1_QUOTA,
              v1_period: str = CGROUP_V1_PERIOD) -> float:
  """The CPU limit of this container (a Kubernetes pod's `resources.limits.cpu` arrives as a
  CFS quota in its cgroup); inf when it has none."""
  try:
    with open(cpu_max) as f:
      quota, period = (f.read().split() + ['100000'])[:2]
    return float('inf') if quota == 'max' else int(quota) / int(period)
  except (OSError, ValueError):
    pass
  try:
    with open(v1_quota) as f, open(v1_period) as g:
      quota, period = int(f.read()), int(g.read())
    return float('inf') if quota <= 0 else quota / period
  except (OSError, ValueError):
    return float('inf')


def usable_cores(limit: float = None) -> int:
  """Cores this process may use: its CPU affinity, capped by the container's CPU limit
  (rounded up: a 1.5-CPU pod can keep 2 workers busy part of the time), at least 1."""
  cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
  limit = cpu_limit() if limit is None else limit
  if limit != float('inf'):
    cores = min(cores, max(1, int(-(-limit // 1))))
  return max(1, cores or 1)


def worker_count(requested: int, cores: int = None) -> int:
  """min(parallel_trials, usable cores): more workers than cores only slow each trial down."""
  return max(1, min(requested, usable_cores() if cores is None else cores))


def free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def search(tuner, workers: int, input_dict, exec_properties: Dict[str, Any],
           working_dir: str) -> List[str]:
  """Runs the search with `workers` worker processes (each builds its own datasets through
  tuner_fn); returns one line per failed worker. Worker logs end up in `working_dir`."""
  oracle = tuner.oracle
  oracle.verbose = 0  # we print our own lines
  port = free_port()
  server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers + 1))
  keras_tuner_private.add_oracle_servicer(oracle, server)
  server.add_insecure_port(f'127.0.0.1:{port}')
  server.start()
  args_path = write_worker_args(files.join(working_dir, files.WORKER_ARGS_FILE), input_dict,
                                exec_properties, working_dir, workers)
  # A process writes its log to a local file; the search directory may be a bucket.
  local_logs = tempfile.mkdtemp(prefix='hypertune-workers-')
  warm_pool.prewarm(exec_properties.get('tuner_fn'))
  start = lambda tuner_id: _start_worker(tuner_id, port, args_path, local_logs)  # noqa: E731
  processes = {f'{TUNER_PREFIX}{i}': start(f'{TUNER_PREFIX}{i}') for i in range(workers)}
  record_pids(working_dir, processes)
  reporter = progress.TrialReporter(
      oracle, plan.planned_trials(oracle),
      error_log=lambda trial: progress.error_log_path(tuner.get_trial_dir(trial.trial_id)))
  try:
    return _watch(oracle, processes, working_dir, reporter, start)
  finally:
    for process in processes.values():
      if process.is_alive():
        process.kill()
      process.join()
    server.stop(grace=None)
    for tuner_id in processes:
      fileio.copy(os.path.join(local_logs, f'{tuner_id}.log'),
                  files.join(working_dir, f'{tuner_id}.log'), overwrite=True)
    shutil.rmtree(local_logs, ignore_errors=True)


def record_pids(working_dir: str, processes: Dict[str, multiprocessing.Process]) -> None:
  files.write_json(files.join(working_dir, files.WORKER_PIDS_FILE),
                   {tuner_id: process.pid for tuner_id, process in processes.items()})


def write_worker_args(path: str, input_dict, exec_properties: Dict[str, Any], working_dir: str,
                      workers: int) -> str:
  """What a worker rebuilds the tuner from (worker.build_tuner_from): the executor's inputs
  and parameters, the search directory, and how many workers share a machine's cores."""
  files.write_json(path, {
      'input_dict': artifact_utils.jsonify_artifact_dict(input_dict),  # a JSON str
      'exec_properties': json.loads(json_utils.dumps(exec_properties)),
      'working_dir': working_dir, 'workers': workers})
  return path


def _start_worker(tuner_id: str, port: int, args_path: str, log_dir: str):
  """A worker forked from the warm pool, with this process's environment as it is now (the
  pool may have started earlier), Keras Tuner's worker variables, and a GPU of its own where
  the machine has any (tuner<i>: the i-th, round robin; devices.py)."""
  environ = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP='127.0.0.1',
                 KERASTUNER_ORACLE_PORT=str(port))
  environ = devices.environment_for(int(tuner_id.removeprefix(TUNER_PREFIX)), environ)
  process = warm_pool.pool().Process(target=worker.run_forked, name=f'hypertune-{tuner_id}', args=(
      args_path, os.path.join(log_dir, f'{tuner_id}.log'), environ))
  process.start()
  return process


def _watch(oracle, processes: Dict[str, multiprocessing.Process], working_dir: str,
           reporter: progress.TrialReporter, start) -> List[str]:
  """Until every worker has ended: reports finished trials; a worker that died has its trial
  run again and, while the oracle has work left, a successor under the same tuner id (its log
  goes on in the same file)."""
  failures: List[str] = []
  running = dict(processes)
  while running:
    time.sleep(POLL_SECONDS)
    reporter.report_new()
    for tuner_id, process in list(running.items()):
      if process.is_alive():
        continue
      code = process.exitcode
      del running[tuner_id]
      if code == 0:
        continue
      message = (f'worker {tuner_id} exited with status {code}; its log: '
                 f'{files.join(working_dir, tuner_id + ".log")}')
      failures.append(message)
      trial_id = oracle.run_again(tuner_id, f'worker {tuner_id} died')
      again = f'its trial {trial_id} runs again' if trial_id else 'it had no trial'
      if len(failures) <= MAX_REPLACEMENTS and not oracle.search_is_over():
        running[tuner_id] = processes[tuner_id] = start(tuner_id)
        record_pids(working_dir, processes)
        progress.say(f'  [Tuner] {message}; {again}, and a new worker takes its place')
      else:
        progress.say(f'  [Tuner] {message}; {again}; the search goes on without it')
  reporter.report_new()
  return failures
