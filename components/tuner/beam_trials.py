"""Trials on Apache Beam: one search across the machines of a Beam runner (Dataflow, Flink,
Spark, or the DirectRunner's worker processes), as one Beam job for the whole search, with no
control plane beyond Beam itself and files.

The driver is the Tuner's executor, sole owner of the oracle. It starts one Beam pipeline, built
with the Tuner's Beam arguments (the pipeline's `beam_pipeline_args` and the Tuner's own
`with_beam_pipeline_args`): `parallel_trials` elements, one per slot, spread over the runner's
workers (a Reshuffle), each running beam_slot.Slot, which runs trial after trial. The driver and
the slots talk through files in the search state directory (exchange.py): the driver assigns a
trial to a slot the moment the slot is free (a slot never waits for another slot's trial),
replays each epoch's report into the oracle (the rule for weak trials answers through a stop
file) and each result (`update_trial`, `end_trial`: Keras Tuner's retry and failure rules
apply), saves the oracle, and says each trial in a line. When the oracle has nothing left and
no slot has a trial, the driver writes `done`; the slots end, and so does the job.

Why files, not a connection: Dataflow workers cannot reach a Kubeflow pod, and a search's state
directory is already where every worker reads and writes (the pipeline root's bucket); one
listing per look finds every new report (BENCHMARKS.md, "One job per search", measures what a
look costs on a local disk and on an S3 server).

Faults:
- A trial process that dies (killed, out of memory) runs again on its slot, up to
  beam_slot.TRIAL_PROCESS_ATTEMPTS times; after that its trial ends FAILED with the exit status
  and its log. A trial whose code raises is Keras Tuner's business: FAILED or retried.
- A slot whose heartbeat stops for LOST_AFTER_SECONDS (its machine lost) has its trial handed to
  the next free slot (OracleExtras.run_again; FAILED after MAX_LOST_RUNS losses); if it comes
  back, it gets work again, and the result of the trial it had is not counted.
- A runner that retries a slot's bundle: the slot runs its current assignment again, and the
  driver reads each assignment's result once.
- The job failing (a set-up error, or the runner giving up): started again for the rest of the
  search, up to JOB_ATTEMPTS times; if it fails before any slot came alive, the Tuner stops in
  one line with the runner's error (runner, options, packages).
- The driver killed mid-search: the oracle was saved after every result; the next execution
  resumes it, and the trials that were running are run again.

The search directory must be on a filesystem every worker reaches (the pipeline root's: gs://,
s3://, a shared volume; local paths only for runners on this machine).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from typing import Any, Dict, List, Optional

import apache_beam as beam
from apache_beam.options import pipeline_options

from tfx.dsl.io import fileio

from tfx_hypertune.components.tuner import (beam_slot, exchange, files, local_pool, one_trial,
                                            plan, progress, trials)

BEAM_DIR = 'beam'                 # in the search directory: one exchange per execution
SLOT_PREFIX = 'slot'              # the driver's tuner ids: slot0, slot1, ...
POLL_SECONDS = 0.5                # how often the driver looks at the exchange
JOB_ATTEMPTS = 2                  # a failed job starts once more for the rest of the search
# A slot whose heartbeat has not changed for this long is taken for lost (HEARTBEAT_SECONDS
# apart: a dozen missed beats). The environment variable shortens it for tests.
LOST_AFTER_SECONDS = float(os.environ.get('HYPERTUNE_SLOT_LOST_SECONDS', 60))
# After `done`, how long the driver waits for the job to end before it leaves it (a runner
# that hangs on a lost worker, as the DirectRunner does).
JOB_END_SECONDS = float(os.environ.get('HYPERTUNE_JOB_END_SECONDS', 120))


class SetupError(RuntimeError):
  """The runner could not run the job at all (no slot ever came alive)."""


@dataclasses.dataclass
class SlotState:
  """The driver's view of one slot."""
  seq: int = 0                          # its last assignment's number
  trial: Any = None                     # the trial it runs (None: free)
  beat: Optional[Dict[str, Any]] = None  # its last heartbeat
  beat_changed: float = 0.0             # when (the driver's clock) the heartbeat last changed
  epochs_read: set = dataclasses.field(default_factory=set)
  lost: int = 0                         # times it was taken for lost
  trials_run: int = 0

  @property
  def alive(self) -> bool:
    return self.beat is not None and (time.monotonic() - self.beat_changed < LOST_AFTER_SECONDS)


def search(tuner, slots: int, input_dict, exec_properties: Dict[str, Any], working_dir: str,
           beam_args: List[str]) -> Dict[str, Any]:
  """Runs the search with its trials on Beam, one job; returns what search_info.json records."""
  oracle = tuner.oracle
  oracle.verbose = 0  # we say our own lines
  options = pipeline_options.PipelineOptions(beam_args)
  runner = runner_name(options)
  args_path = local_pool.write_worker_args(
      files.join(working_dir, files.WORKER_ARGS_FILE), input_dict, exec_properties,
      working_dir, trials_per_machine(options))
  run_stamp = time.strftime('%Y%m%dT%H%M%S', time.gmtime())
  driver = Driver(tuner, exchange.Exchange(files.join(working_dir, BEAM_DIR, run_stamp)), slots)
  progress.say(f'  [Tuner] trials on Beam ({runner}): one job, {slots} slots')
  job: Optional[Job] = None
  attempts, errors = 0, []
  while not driver.finished():
    if job is None or not job.running():
      if job is not None and job.error:
        errors.append(job.error)
      if attempts == JOB_ATTEMPTS:
        raise RuntimeError(f'Tuner: trials on Beam: the job failed {attempts} times: '
                           f'{errors[-1] if errors else "no error reported"}')
      if errors and driver.first_beat is None:
        raise SetupError(f'Tuner: trials on Beam: the Beam job failed before any slot ran: '
                         f'{errors[-1]}')
      if errors:
        progress.say(f'  [Tuner] the Beam job failed ({errors[-1][:200]}); starting it again '
                     f'for the rest of the search')
      attempts += 1
      job = Job(driver.exchange, slots, args_path, beam_args, exec_properties.get('tuner_fn'))
      job.start()
    driver.step()
    time.sleep(POLL_SECONDS)
  driver.exchange.finish()
  ended = job.wait(JOB_END_SECONDS) if job else True
  if not ended:
    progress.say(f'  [Tuner] the Beam job has not ended {JOB_END_SECONDS} s after the search '
                 f'(a lost worker); leaving it')
  return {'runner': runner, 'slots': slots, 'beam_pipeline_args': list(beam_args),
          'exchange': driver.exchange.root, 'job_attempts': attempts, 'job_errors': errors,
          'job_start_seconds': driver.job_start_seconds(),
          'search_seconds': round(time.monotonic() - driver.started, 2),
          'slots_lost': {str(k): s.lost for k, s in driver.slots.items() if s.lost},
          'trials_per_slot': {str(k): s.trials_run for k, s in driver.slots.items()},
          'trial_process_restarts': driver.restarts, 'job_ended': ended}


class Driver:
  """Keeps every live slot busy while the oracle has trials (see the module docstring)."""

  def __init__(self, tuner, exchange_: exchange.Exchange, slots: int):
    self.tuner = tuner
    self.oracle = tuner.oracle
    self.exchange = exchange_
    self.slots = {k: SlotState() for k in range(slots)}
    self.started = time.monotonic()
    self.first_beat: Optional[float] = None
    self.restarts: Dict[str, List[str]] = {}
    self.logs: Dict[str, str] = {}
    self.reporter = progress.TrialReporter(self.oracle, plan.planned_trials(self.oracle),
                                           error_log=self._error_log)

  def job_start_seconds(self) -> Optional[float]:
    """From the start of the search to the first slot's first heartbeat: the job's start."""
    return None if self.first_beat is None else round(self.first_beat - self.started, 2)

  def finished(self) -> bool:
    busy = any(s.trial is not None for s in self.slots.values())
    return not busy and self.oracle.search_is_over()

  def step(self) -> None:
    listing = self.exchange.look()
    for k, state in self.slots.items():
      self._heartbeat(k, state, k in listing.heartbeats)
      if state.trial is not None:
        self._epochs(k, state, listing.epochs.get(k, []))
        if state.seq in listing.results.get(k, []):
          self._result(k, state)
        elif not state.alive and state.beat is not None:
          self._lost(k, state)
      if state.trial is None and state.alive:
        self._assign(k, state)
    self.reporter.report_new()

  def _heartbeat(self, k: int, state: SlotState, present: bool) -> None:
    if not present:
      return
    beat = self.exchange.heartbeat(k)
    if beat is not None and beat != state.beat:
      state.beat, state.beat_changed = beat, time.monotonic()
      self.first_beat = self.first_beat or state.beat_changed

  def _assign(self, k: int, state: SlotState) -> None:
    trial = self.oracle.create_trial(f'{SLOT_PREFIX}{k}')
    if trial.status != trials.TrialStatus.RUNNING:
      return
    state.seq += 1
    state.trial, state.epochs_read = trial, set()
    log_path = self.exchange.log_path(k, state.seq)
    self.logs[trial.trial_id] = log_path
    self.exchange.assign(k, state.seq, {'trial_id': trial.trial_id, 'trial': trial.get_state(),
                                        'tuner_id': f'{SLOT_PREFIX}{k}', 'log_path': log_path})

  def _epochs(self, k: int, state: SlotState, reported) -> None:
    """Each new epoch report of the slot's trial, into the oracle (the rule for weak trials
    answers); a stop goes back to the trial process as a file."""
    new = sorted(epoch for seq, epoch in reported
                 if seq == state.seq and epoch not in state.epochs_read)
    for epoch in new:
      state.epochs_read.add(epoch)
      report = self.exchange.epoch_value(k, state.seq, epoch)
      answer = self.oracle.update_trial(state.trial.trial_id, report['metrics'],
                                        step=report['step'])
      if answer.status == trials.TrialStatus.STOPPED:
        self.exchange.stop(k, state.seq)
    if new:  # the trial process waits for this (one_trial.EpochChannel)
      self.exchange.heard(k, state.seq, new[-1])

  def _result(self, k: int, state: SlotState) -> None:
    result = self.exchange.result(k, state.seq)
    one_trial.replay(self.oracle, state.trial, result)
    if result.get('restarts'):
      self.restarts[state.trial.trial_id] = result['restarts']
    self.tuner.save()  # the oracle, and the tuner file a resumed run reloads it through
    state.trial = None
    state.trials_run += 1

  def _lost(self, k: int, state: SlotState) -> None:
    """The slot's heartbeat stopped: its trial goes to the next free slot."""
    state.lost += 1
    trial_id = self.oracle.run_again(f'{SLOT_PREFIX}{k}', f'slot {k} was lost (no heartbeat '
                                     f'for {LOST_AFTER_SECONDS:g} s)')
    progress.say(f'  [Tuner] slot {k} was lost (no heartbeat for {LOST_AFTER_SECONDS:g} s; '
                 f'last seen on {(state.beat or {}).get("worker")}): trial {trial_id} runs '
                 f'again elsewhere')
    state.trial, state.beat = None, None

  def _error_log(self, trial) -> Optional[str]:
    """Where a failed trial's traceback is: its trial_error.log, written by the trial process
    when its code raised; else (the process died) the trial process's log."""
    written = progress.error_log_path(self.tuner.get_trial_dir(trial.trial_id))
    return written if fileio.exists(written) else self.logs.get(trial.trial_id)


class Job:
  """The Beam job of the slots, run in a thread of the driver's process (the DirectRunner and
  the portable runner run a pipeline in the calling thread)."""

  def __init__(self, exchange_: exchange.Exchange, slots: int, args_path: str,
               beam_args: List[str], tuner_fn: Optional[str]):
    self._pipeline = beam.Pipeline(options=pipeline_options.PipelineOptions(beam_args))
    _ = (self._pipeline
         | 'Slots' >> beam.Create(list(range(slots)))
         | 'Spread' >> beam.Reshuffle()
         | 'RunTrials' >> beam.ParDo(beam_slot.Slot(exchange_.root, args_path, tuner_fn)))
    self._thread = threading.Thread(target=self._run, daemon=True, name='hypertune-beam-job')
    self.error: Optional[str] = None

  def _run(self) -> None:
    try:
      self._pipeline.run().wait_until_finish()
    except Exception as e:  # noqa: BLE001  (the runner's error, any type: said by the driver)
      self.error = f'{type(e).__name__}: {trials.last_line(str(e))}'

  def start(self) -> None:
    self._thread.start()

  def running(self) -> bool:
    return self._thread.is_alive()

  def wait(self, seconds: float) -> bool:
    self._thread.join(timeout=seconds)
    return not self._thread.is_alive()


def runner_name(options: pipeline_options.PipelineOptions) -> str:
  runner = options.view_as(pipeline_options.StandardOptions).runner
  return str(runner or 'DirectRunner')


def trials_per_machine(options: pipeline_options.PipelineOptions) -> int:
  """How many trials share a machine's cores: the DirectRunner's worker processes on this
  machine; one on a cluster (a worker process runs one trial at a time: beam_slot.py)."""
  if runner_name(options) not in ('DirectRunner', 'direct', 'BundleBasedDirectRunner'):
    return 1
  direct = options.view_as(pipeline_options.DirectOptions)
  if direct.direct_running_mode == 'in_memory':
    return 1
  return max(1, int(direct.direct_num_workers or 1))

