"""Trials on Apache Beam: one search across the machines of a Beam runner (Dataflow, Flink,
Spark, or the DirectRunner's worker processes), with no control plane beyond Beam itself.

The driver is the Tuner's executor. It owns the oracle, in its own process (no gRPC chief, no
inbound connection to it from any worker):
1. it asks the oracle for trials under distinct tuner ids (`beam0`, `beam1`, ...) until the
   batch holds `parallel_trials` of them or the oracle answers IDLE (Hyperband waits for a
   round) or STOPPED;
2. it runs the batch as one Beam pipeline, built with the Tuner's Beam arguments (the
   pipeline's `beam_pipeline_args` and the Tuner's own `with_beam_pipeline_args`): one element
   per trial, a Reshuffle so that the runner spreads them over its workers;
3. a worker (beam_worker.py) runs its trial in a process forked from its warm pool
   (one_trial.py rebuilds the tuner with the user's tuner_fn and runs the trial through Keras
   Tuner's own path against the shared search directory, so a Hyperband round finds its
   parent's checkpoint whichever machine trained it), which writes the trial's result into
   the batch's folder;
4. the driver replays each result into the oracle (`update_trial`, `end_trial`: Keras Tuner's
   retry and failure rules apply), saves the oracle, prints the trials, and asks for the next
   batch until the oracle is done.

Faults:
- A trial process that dies (killed, out of memory) runs again on its worker, up to
  beam_worker.TRIAL_PROCESS_ATTEMPTS times; after that its trial ends FAILED with the exit status
  and its
  log. A trial whose code raises is Keras Tuner's business: FAILED or retried by its rules.
- A batch whose pipeline fails (a worker machine lost on a runner that gives up, a runner
  error) runs again for the trials without a result, up to PIPELINE_ATTEMPTS times; if the
  first pipeline of a search fails before any trial ran, the error is a set-up error (runner,
  options, packages) and ends the Tuner in one line.
- The driver killed mid-search: the oracle was saved after every batch; the next run resumes it,
  and a trial that was running is handed out again (Keras Tuner returns a tuner id's ongoing
  trial).

The search directory must be on a filesystem every worker reaches (the pipeline root's: gs://,
s3://, a shared volume; local paths only for runners on this machine).
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional

import apache_beam as beam
from apache_beam.options import pipeline_options
from tfx.dsl.io import fileio

from tfx_hypertune.components.tuner import (beam_worker, files, local_pool, one_trial, plan,
                                            progress, trials)

BEAM_DIR = 'beam'                 # in the search directory: arguments, results and logs
PIPELINE_ATTEMPTS = 2             # a failed batch pipeline runs once more for the missing trials
TUNER_ID_PREFIX = 'beam'          # the driver's tuner ids: one per place in a batch


class SetupError(RuntimeError):
  """The runner could not run a batch at all (before any trial of the search ran)."""


# ---------------------------------------------------------------------------------------------
# The driver.


def search(tuner, batch_size: int, input_dict, exec_properties: Dict[str, Any],
           working_dir: str, beam_args: List[str]) -> Dict[str, Any]:
  """Runs the search with its trials on Beam; returns what search_info.json records of it."""
  oracle = tuner.oracle
  oracle.verbose = 0  # we print our own lines
  options = pipeline_options.PipelineOptions(beam_args)
  runner = runner_name(options)
  args_path = local_pool.write_worker_args(
      files.join(working_dir, BEAM_DIR, files.WORKER_ARGS_FILE), input_dict, exec_properties,
      working_dir,
      trials_per_machine(options))
  progress.say(f'  [Tuner] trials on Beam ({runner}): up to {batch_size} trials per batch')
  reported = {t.trial_id for t in oracle.completed_trials()}
  logs: Dict[str, str] = {}
  reporter = progress.TrialReporter(oracle, plan.planned_trials(oracle),
                                    error_log=lambda trial: _error_log(tuner, trial, logs))
  run_stamp = time.strftime('%Y%m%dT%H%M%S', time.gmtime())
  batches: List[Dict[str, Any]] = []
  while True:
    batch = next_batch(oracle, batch_size)
    if not batch:
      break
    batch_dir = files.join(working_dir, BEAM_DIR, f'{run_stamp}-batch{len(batches) + 1:03d}')
    record = run_batch(batch, batch_dir, args_path, beam_args,
                       exec_properties.get('tuner_fn'), first=not batches and not reported)
    for trial in batch:
      one_trial.replay(oracle, trial, record['results'].get(trial.trial_id)
                       or missing_result(record))
      logs[trial.trial_id] = trial_request(trial, 0, batch_dir)['log_path']
    tuner.save()  # the oracle, and the tuner file a resumed run reloads it through
    progress.say(f'  [Tuner] Beam batch {len(batches) + 1}: {len(batch)} trial(s), '
                 f'{record["seconds"]:.1f}s')
    del record['results']
    batches.append(record)
    reporter.report_new()
  return {'runner': runner, 'batch_size': batch_size, 'batches': batches,
          'beam_pipeline_args': list(beam_args)}


def _error_log(tuner, trial, process_logs: Dict[str, str]) -> Optional[str]:
  """Where a failed trial's traceback is: its trial_error.log, written by the trial process
  when its code raised; else (the process died) the trial process's log."""
  written = progress.error_log_path(tuner.get_trial_dir(trial.trial_id))
  return written if fileio.exists(written) else process_logs.get(trial.trial_id)


def next_batch(oracle, size: int) -> List[Any]:
  """Up to `size` new trials, each under its own tuner id; fewer when the oracle answers IDLE
  (it waits for running trials) or STOPPED."""
  batch = []
  for place in range(size):
    trial = oracle.create_trial(f'{TUNER_ID_PREFIX}{place}')
    if trial.status != trials.TrialStatus.RUNNING:
      break
    batch.append(trial)
  return batch


def run_batch(batch: List[Any], batch_dir: str, args_path: str, beam_args: List[str],
              tuner_fn: Optional[str], first: bool) -> Dict[str, Any]:
  """Runs one batch (retrying the pipeline for trials it left without a result); returns
  {'results': {trial_id: TrialResult}, 'seconds', 'pipeline_attempts', 'pipeline_errors',
  'trials': [...], 'longest_trial_process_seconds'}."""
  started = time.monotonic()
  requests = {t.trial_id: trial_request(t, place, batch_dir)
              for place, t in enumerate(batch)}
  results: Dict[str, Dict[str, Any]] = {}
  errors: List[str] = []
  attempts = 0
  while attempts < PIPELINE_ATTEMPTS and len(results) < len(requests):
    attempts += 1
    missing = [r for trial_id, r in requests.items() if trial_id not in results]
    try:
      run_pipeline(missing, args_path, beam_args, tuner_fn)
    except Exception as e:  # noqa: BLE001  # the runner's error, any type
      errors.append(f'{type(e).__name__}: {trials.last_line(str(e))}')
    results.update(read_results(missing))
    if first and not results and errors:
      raise SetupError(f'Tuner: trials on Beam: the Beam pipeline failed before any trial '
                       f'ran: {errors[-1]}')
    if errors and len(results) < len(requests):
      progress.say(f'  [Tuner] Beam batch pipeline failed ({errors[-1][:200]}); '
            f'{len(requests) - len(results)} trial(s) without a result', flush=True)
  return {'trials': sorted(requests), 'results': results,
          'seconds': round(time.monotonic() - started, 2),
          'longest_trial_process_seconds': max(
              (r.get('process_seconds', 0.0) for r in results.values()), default=0.0),
          'longest_tuner_build_seconds': max(
              (r.get('tuner_build_seconds', 0.0) for r in results.values()), default=0.0),
          'pipeline_attempts': attempts, 'pipeline_errors': errors,
          'trial_process_restarts': {i: r['restarts'] for i, r in results.items()
                                     if r.get('restarts')}}


def trial_request(trial, place: int, batch_dir: str) -> Dict[str, Any]:
  return {'trial_id': trial.trial_id, 'trial': trial.get_state(),
          'tuner_id': f'{TUNER_ID_PREFIX}{place}',
          'result_path': files.join(batch_dir, f'trial_{trial.trial_id}.json'),
          'log_path': files.join(batch_dir, f'trial_{trial.trial_id}.log')}


def run_pipeline(requests: List[Dict[str, Any]], args_path: str, beam_args: List[str],
                 tuner_fn: Optional[str]) -> None:
  options = pipeline_options.PipelineOptions(beam_args)
  with beam.Pipeline(options=options) as pipeline:
    _ = (pipeline
         | 'Trials' >> beam.Create([json.dumps(r) for r in requests])
         | 'Spread' >> beam.Reshuffle()
         | 'RunTrial' >> beam.ParDo(beam_worker.RunTrial(args_path, tuner_fn)))


def read_results(requests: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
  results = {}
  for request in requests:
    if fileio.exists(request['result_path']):
      results[request['trial_id']] = files.read_json(request['result_path'])
  return results


def missing_result(record: Dict[str, Any]) -> Dict[str, Any]:
  errors = '; '.join(record['pipeline_errors']) or 'no error reported'
  return one_trial.failed_result(f'no result from Beam after {record["pipeline_attempts"]} '
                                 f'pipeline attempt(s): {errors}')


def runner_name(options: pipeline_options.PipelineOptions) -> str:
  runner = options.view_as(pipeline_options.StandardOptions).runner
  return str(runner or 'DirectRunner')


def trials_per_machine(options: pipeline_options.PipelineOptions) -> int:
  """How many trials share a machine's cores: the DirectRunner's worker processes on this
  machine; one on a cluster (a worker process runs one trial at a time: beam_worker.py)."""
  if runner_name(options) not in ('DirectRunner', 'direct', 'BundleBasedDirectRunner'):
    return 1
  direct = options.view_as(pipeline_options.DirectOptions)
  if direct.direct_running_mode == 'in_memory':
    return 1
  return max(1, int(direct.direct_num_workers or 1))
