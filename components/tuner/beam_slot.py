"""A slot of trials on Beam (beam_trials.py): a long-running DoFn that runs trial after trial, as
the driver assigns them through the exchange (exchange.py), until the driver says the search is
done. One Beam element per slot; the runner spreads them over its workers.

For each assignment the slot forks a trial process from the worker's warm pool (TensorFlow,
Keras Tuner and the tuner_fn's module imported once per worker process, not per trial; one GPU
of the machine visible to it, where it has any: devices.py) and waits for it; the trial process
(one_trial.run) reports each epoch and writes its result locally, and the slot puts the result
and the log into the exchange. Meanwhile the slot rewrites its heartbeat every
HEARTBEAT_SECONDS: a slot whose heartbeat stops (its machine lost) has its trial handed to
another slot by the driver.

A trial process that dies (kill -9, the kernel's OOM killer) takes only itself down: it runs
again, and after TRIAL_PROCESS_ATTEMPTS deaths its trial ends FAILED with the exit status and the
end of its log. (A Beam worker process that died with its trial would, on the DirectRunner, hang
the pipeline for good.) A runner that retries the slot's bundle starts the slot again: it runs
its current assignment again unless its result is already there.

This module imports the standard library and Beam only: a slot that only supervises never
imports TensorFlow, which its trial processes have loaded already.
"""

import json
import os
import shutil
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional

import apache_beam as beam

from tfx_hypertune.components.tuner import devices, warm_pool, worker

TRIAL_PROCESS_ATTEMPTS = 2  # a trial process that dies runs once more on its worker
ONE_TRIAL = 'tfx_hypertune.components.tuner.one_trial.run'
HEARTBEAT_SECONDS = 5.0
POLL_SECONDS = 0.5  # how often an idle slot looks for its next assignment

# One trial at a time in a worker process: a runner may hand a process several bundles at once
# (threads), and trials on one machine would only contend for its cores or its accelerator.
_ONE_TRIAL_AT_A_TIME = threading.Lock()


class Slot(beam.DoFn):
  """Runs the trials assigned to the slot it is handed (an int), until the search is done;
  yields the slot's number and how many trials it ran."""

  def __init__(self, exchange_root: str, args_path: str, tuner_fn: Optional[str]):
    super().__init__()
    self._exchange_root = exchange_root
    self._args_path = args_path
    self._tuner_fn = tuner_fn

  def setup(self):
    warm_pool.prewarm(self._tuner_fn)

  def process(self, slot: int):
    from tfx_hypertune.components import filesystems
    from tfx_hypertune.components.tuner import exchange as exchange_lib
    filesystems.support(self._exchange_root)
    exchange = exchange_lib.Exchange(self._exchange_root)
    with _ONE_TRIAL_AT_A_TIME, Heartbeat(exchange, slot) as heartbeat:
      ran = run_slot(exchange, slot, self._args_path, heartbeat)
    yield slot, ran


def run_slot(exchange, slot: int, args_path: str, heartbeat: 'Heartbeat') -> int:
  """The slot's loop: the newest assignment without a result, run; until done. Returns how many
  trials it ran."""
  ran = 0
  while not exchange.is_done():
    seq, request = exchange.latest_assignment(slot)
    if seq is None or exchange.has_result(slot, seq):
      time.sleep(POLL_SECONDS)
      continue
    heartbeat.doing = {'seq': seq, 'trial_id': request['trial_id']}
    result = run_in_trial_process({**request, 'slot': slot, 'seq': seq,
                                   'exchange': exchange.root}, args_path, slot)
    exchange.write_result(slot, seq, result)
    heartbeat.doing = {}
    ran += 1
  return ran


class Heartbeat:
  """Rewrites the slot's heartbeat every HEARTBEAT_SECONDS while the slot lives (a thread), with
  a count that changes every time: the driver judges by its own clock when it last changed, so
  the machines' clocks need not agree."""

  def __init__(self, exchange, slot: int):
    self._exchange = exchange
    self._slot = slot
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._run, daemon=True, name=f'heartbeat-{slot}')
    self.doing: Dict[str, Any] = {}

  def _run(self) -> None:
    count = 0
    while not self._stop.is_set():
      count += 1
      self._exchange.beat(self._slot, {'count': count, 'worker': warm_pool.process_name(),
                                       'time': time.time(), **self.doing})
      self._stop.wait(HEARTBEAT_SECONDS)

  def __enter__(self) -> 'Heartbeat':
    self._thread.start()
    return self

  def __exit__(self, *exc) -> None:
    self._stop.set()
    self._thread.join(timeout=HEARTBEAT_SECONDS + 5)


def run_in_trial_process(request: Dict[str, Any], args_path: str, slot: int) -> Dict[str, Any]:
  """Runs one trial in a process forked from the warm pool, again if the process dies; returns
  its result (a FAILED one if it never finished). The log goes into the exchange beside it."""
  local = tempfile.mkdtemp(prefix='hypertune-trial-')
  log_file = os.path.join(local, 'trial.log')
  result_file = os.path.join(local, 'result.json')
  environ = {k: v for k, v in os.environ.items()
             if k not in ('KERASTUNER_ORACLE_IP', 'KERASTUNER_ORACLE_PORT')}
  environ['KERASTUNER_TUNER_ID'] = request['tuner_id']
  environ = devices.environment_for(slot, environ)
  deaths: List[str] = []
  request = {**request, 'beam_worker': warm_pool.process_name(), 'requested_at': time.time(),
             'local_result': result_file}
  try:
    for _ in range(TRIAL_PROCESS_ATTEMPTS):
      process = warm_pool.pool().Process(
          target=worker.run_in_forked_process, name=f'hypertune-trial-{request["trial_id"]}',
          args=(ONE_TRIAL, ({**request, 'restarts': deaths}, args_path, log_file), log_file,
                environ))
      process.start()
      process.join()
      if process.exitcode == 0 and os.path.exists(result_file):
        with open(result_file) as f:
          return json.load(f)
      deaths = deaths + [exit_description(process.exitcode)]
    return failure(request, deaths, log_file)
  finally:
    copy_log(log_file, request)


def failure(request: Dict[str, Any], deaths: List[str], log_file: str) -> Dict[str, Any]:
  """The result of a trial whose process died every time: FAILED, with why."""
  return {'updates': [], 'status': 'FAILED', 'hyperparameters': None,
          'message': f'the trial process {", then ".join(deaths)}; its log: '
                     f'{request["log_path"]}\n{log_tail(log_file)}',
          'beam_worker': request['beam_worker'], 'restarts': deaths,
          'process_seconds': round(time.time() - request['requested_at'], 2)}


def copy_log(log_file: str, request: Dict[str, Any]) -> None:
  from tfx.dsl.io import fileio  # here: a slot that ran no trial needs no TFX
  if os.path.exists(log_file):
    fileio.makedirs(os.path.dirname(request['log_path']))
    fileio.copy(log_file, request['log_path'], overwrite=True)
  shutil.rmtree(os.path.dirname(log_file), ignore_errors=True)


def exit_description(code: Optional[int]) -> str:
  if code is not None and code < 0:
    return f'was killed (signal {-code})'
  return f'exited with status {code}'


def log_tail(path: str, lines: int = 5) -> str:
  try:
    with open(path) as f:
      return ''.join(f.readlines()[-lines:])
  except OSError:
    return ''
