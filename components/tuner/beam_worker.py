"""What runs on a Beam worker for trials on Beam (beam_trials.py): it supervises, the trial
runs in a process of its own.

`RunTrial` forks a trial process from the worker's warm pool for each trial it is handed
(TensorFlow, Keras Tuner and the tuner_fn's module imported once per worker process, not per
trial) and waits for it. The trial process (one_trial.run) writes the trial's result and its
log where the driver reads them. A trial process that dies (kill -9, the kernel's OOM killer)
takes only itself down: it runs again, and after TRIAL_PROCESS_ATTEMPTS deaths its trial ends
FAILED with the exit status and the end of its log. (A Beam worker process that died with its
trial would, on the DirectRunner, hang the pipeline for good.)

This module imports the standard library and Beam only: a worker that only supervises never
imports TensorFlow, which its trial processes have loaded already; it does so only to write the
result of a trial whose process died.
"""

import json
import os
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional

import apache_beam as beam

from tfx_hypertune.components.tuner import warm_pool, worker

TRIAL_PROCESS_ATTEMPTS = 2  # a trial process that dies runs once more on its worker
ONE_TRIAL = 'tfx_hypertune.components.tuner.one_trial.run'

# One trial at a time in a worker process: a runner may hand a process several bundles at once
# (threads), and trials on one machine would only contend for its cores or its accelerator.
_ONE_TRIAL_AT_A_TIME = threading.Lock()


class RunTrial(beam.DoFn):
  """Runs each trial it is handed (a JSON request from beam_trials.trial_request) in a trial
  process; yields the trial id."""

  def __init__(self, args_path: str, tuner_fn: Optional[str]):
    super().__init__()
    self._args_path = args_path
    self._tuner_fn = tuner_fn

  def setup(self):
    warm_pool.prewarm(self._tuner_fn)

  def process(self, element: str):
    request = json.loads(element)
    with _ONE_TRIAL_AT_A_TIME:
      run_in_trial_process(request, self._args_path)
    yield request['trial_id']


def run_in_trial_process(request: Dict[str, Any], args_path: str) -> None:
  """Runs one trial in a forked process, again if the process dies; if it never finishes,
  writes a FAILED result for it."""
  local = tempfile.mkdtemp(prefix='hypertune-trial-')
  log_file = os.path.join(local, 'trial.log')
  environ = {k: v for k, v in os.environ.items()
             if k not in ('KERASTUNER_ORACLE_IP', 'KERASTUNER_ORACLE_PORT')}
  environ['KERASTUNER_TUNER_ID'] = request['tuner_id']
  deaths: List[str] = []
  request = {**request, 'beam_worker': warm_pool.process_name(), 'requested_at': time.time()}
  for _ in range(TRIAL_PROCESS_ATTEMPTS):
    process = warm_pool.pool().Process(
        target=worker.run_in_forked_process, name=f'hypertune-trial-{request["trial_id"]}',
        args=(ONE_TRIAL, ({**request, 'restarts': deaths}, args_path, log_file), log_file,
              environ))
    process.start()
    process.join()
    if process.exitcode == 0:
      return
    deaths = deaths + [exit_description(process.exitcode)]
  write_failure(request, deaths, log_file)


def write_failure(request: Dict[str, Any], deaths: List[str], log_file: str) -> None:
  from tfx.dsl.io import fileio
  from tfx_hypertune.components import filesystems
  from tfx_hypertune.components.tuner import files, one_trial
  filesystems.support(request['result_path'])
  fileio.makedirs(os.path.dirname(request['log_path']))
  if os.path.exists(log_file):
    fileio.copy(log_file, request['log_path'], overwrite=True)
  files.write_json(request['result_path'], {
      **one_trial.failed_result(f'the trial process {", then ".join(deaths)}; its log: '
                                f'{request["log_path"]}\n{log_tail(log_file)}'),
      'beam_worker': request['beam_worker'], 'restarts': deaths,
      'process_seconds': round(time.time() - request['requested_at'], 2)})


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
