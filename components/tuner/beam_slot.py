"""A slot of trials on Beam (beam_trials.py): a long-running DoFn that runs trial after trial, as
the driver assigns them through the exchange (exchange.py), until the driver says the search is
done. One Beam element per slot; the runner spreads them over its workers.

The slot forks a trial process from the worker's warm pool (TensorFlow, Keras Tuner and the
tuner_fn's module imported once per worker process; one GPU of the machine visible to it, where it
has any: devices.py) and sends it each assignment; the trial process (one_trial.serve) builds the
tuner once, runs trial after trial, reports each epoch and writes each result locally, and the
slot puts the result and the trial's part of the log into the exchange. Meanwhile the slot
rewrites its heartbeat every HEARTBEAT_SECONDS: a slot whose heartbeat stops (its machine lost)
has its trial handed to another slot by the driver.

A trial process that dies (kill -9, the kernel's OOM killer) takes only itself down: its trial
runs again in a new one, and after TRIAL_PROCESS_ATTEMPTS deaths the trial ends FAILED with the
exit status and the end of its log. (A Beam worker process that died with its trial would, on the
DirectRunner, hang the pipeline for good.) A runner that retries the slot's bundle starts the slot
again: it runs its current assignment again unless its result is already there.

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
SERVE_TRIALS = 'tfx_hypertune.components.tuner.one_trial.serve'
HEARTBEAT_SECONDS = 5.0
POLL_SECONDS = 0.5  # the longest pause of an idle slot between looks for its next assignment

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
  from tfx_hypertune.components.tuner import exchange as exchange_lib
  ran = 0
  runner = TrialRunner(slot, args_path)
  pause = exchange_lib.Backoff(POLL_SECONDS)
  try:
    while not exchange.is_done():
      seq, request = exchange.latest_assignment(slot)
      if seq is None or exchange.has_result(slot, seq):
        pause.wait()
        continue
      pause.reset()
      heartbeat.doing = {'seq': seq, 'trial_id': request['trial_id']}
      result = runner.run({**request, 'slot': slot, 'seq': seq, 'exchange': exchange.root})
      exchange.write_result(slot, seq, result)
      heartbeat.doing = {}
      ran += 1
  finally:
    runner.close()
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


class TrialRunner:
  """The slot's trial process, forked from the worker's warm pool at its first trial and kept
  for the next ones (the tuner built once: one_trial.serve), replaced when it dies. A trial
  whose process died runs again in a new one, up to TRIAL_PROCESS_ATTEMPTS times; then its
  result is FAILED with the exit statuses and the end of its log."""

  def __init__(self, slot: int, args_path: str):
    self._slot = slot
    self._args_path = args_path
    self._local = tempfile.mkdtemp(prefix='hypertune-slot-')
    self._log_file = os.path.join(self._local, 'trials.log')
    self._process = None
    self._connection = None

  def run(self, request: Dict[str, Any]) -> Dict[str, Any]:
    """Runs one trial; returns its result. Its part of the log goes into the exchange."""
    result_file = os.path.join(self._local, f'result-{request["seq"]}.json')
    deaths: List[str] = []
    request = {**request, 'beam_worker': warm_pool.process_name(),
               'requested_at': time.time(), 'local_result': result_file}
    log_start = self._log_size()
    try:
      for _ in range(TRIAL_PROCESS_ATTEMPTS):
        if self._process is not None and not self._process.is_alive():
          self._stop()  # it died between trials (out of memory, say): not this trial's doing
        if self._process is None:
          self._start(request['tuner_id'])
        if self._sent({**request, 'restarts': deaths}) and self._answered(request['seq']):
          with open(result_file) as f:
            return json.load(f)
        deaths = deaths + [exit_description(self._stop())]
      return failure(request, deaths, self._log_tail(log_start))
    finally:
      self._copy_log(log_start, request['log_path'])

  def close(self) -> None:
    if self._process is not None:
      try:
        self._connection.send(None)
      except OSError:  # it died between trials
        pass
      self._process.join(timeout=30)
      self._stop()
    shutil.rmtree(self._local, ignore_errors=True)

  def _start(self, tuner_id: str) -> None:
    environ = {k: v for k, v in os.environ.items()
               if k not in ('KERASTUNER_ORACLE_IP', 'KERASTUNER_ORACLE_PORT')}
    environ['KERASTUNER_TUNER_ID'] = tuner_id
    environ = devices.environment_for(self._slot, environ)
    context = warm_pool.pool()
    connection, child_end = context.Pipe()
    process = context.Process(
        target=worker.run_in_forked_process, name=f'hypertune-slot-{self._slot}-trials',
        args=(SERVE_TRIALS, (child_end, self._args_path), self._log_file, environ))
    try:
      process.start()
    except BaseException:
      connection.close()
      raise
    finally:
      child_end.close()  # the child has its own copy: its death reads as EOF here
    self._process, self._connection = process, connection

  def _sent(self, request: Dict[str, Any]) -> bool:
    try:
      self._connection.send(request)
      return True
    except OSError:  # it died as we sent
      return False

  def _answered(self, seq: int) -> bool:
    """Waits for the trial process to say trial `seq` is done (its result file written);
    False if it died first."""
    while True:
      if self._connection.poll(POLL_SECONDS):
        try:
          return self._connection.recv() == seq
        except (EOFError, OSError):
          return False
      if not self._process.is_alive():
        return self._connection.poll(0) and self._answered(seq)

  def _stop(self) -> Optional[int]:
    """Ends the trial process (if it still runs) and forgets it; returns its exit code."""
    process, self._process = self._process, None
    if process.is_alive():
      process.kill()
    process.join(timeout=30)
    self._connection.close()
    return process.exitcode

  def _log_size(self) -> int:
    return os.path.getsize(self._log_file) if os.path.exists(self._log_file) else 0

  def _log_part(self, start: int) -> str:
    try:
      with open(self._log_file, errors='replace') as f:
        f.seek(start)
        return f.read()
    except OSError:
      return ''

  def _log_tail(self, start: int, lines: int = 5) -> str:
    return ''.join(self._log_part(start).splitlines(keepends=True)[-lines:])

  def _copy_log(self, start: int, log_path: str) -> None:
    from tfx.dsl.io import fileio  # here: a slot that ran no trial needs no TFX
    fileio.makedirs(os.path.dirname(log_path))
    with fileio.open(log_path, 'w') as f:
      f.write(self._log_part(start))


def failure(request: Dict[str, Any], deaths: List[str], log_tail: str) -> Dict[str, Any]:
  """The result of a trial whose process died every time: FAILED, with why."""
  return {'updates': [], 'status': 'FAILED', 'hyperparameters': None,
          'message': f'the trial process {", then ".join(deaths)}; its log: '
                     f'{request["log_path"]}\n{log_tail}',
          'beam_worker': request['beam_worker'], 'restarts': deaths,
          'process_seconds': round(time.time() - request['requested_at'], 2)}


def exit_description(code: Optional[int]) -> str:
  if code is not None and code < 0:
    return f'was killed (signal {-code})'
  return f'exited with status {code}'
