"""Trials on Beam (components/tuner/beam_trials.py) with stock Keras Tuner tuner_fns on the
penguin data that ships with tfx: real Beam pipelines on the DirectRunner's worker processes
(SDK harness subprocesses) and on the portable runner, a trial process killed, a trial that
raises, and the driver killed mid-search. Our own digits pipeline with its trials on Beam, its
search state in a bucket, is run 2 of test_kubeflow_launcher_e2e.py (the compiled spec).

    python -m tests.e2e.test_beam_trials_e2e OUT TUNER_FN CONFIG_JSON [SEARCH_STATE_DIR]
runs one execution on two Beam worker processes (the driver-kill test's child)."""

import glob
import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

FNS = 'tests.e2e.tuner_fns'
TWO_WORKERS = ['--direct_running_mode=multi_processing', '--direct_num_workers=2']
PORTABLE = ['--runner=PortableRunner', '--job_endpoint=embed', '--environment_type=LOOPBACK']
RANDOM_CONFIG = {'trials': 4, 'epochs': 2}


def _search_on_beam(out: str, tuner_fn: str, config, beam_args, **properties) -> None:
  helpers.run_tuner_executor(out, f'{FNS}.{tuner_fn}', config, beam_args=beam_args,
                             trials_on='beam', parallel_trials=2, **properties)


def _trial_stats(project_glob: str):
  stats = {}
  for path in glob.glob(os.path.join(project_glob, 'trial_*', 'trial_stats.json')):
    with open(path) as f:
      stats[os.path.basename(os.path.dirname(path))[len('trial_'):]] = json.load(f)
  return stats


def test_a_killed_trial_runs_again_and_a_trial_that_raises_is_reported(tmp_path, capfd,
                                                                        caplog):
  """Two Beam worker processes (DirectRunner, multi_processing): trial 1's process is killed
  the first time (SIGKILL) and runs again on its worker; trial 2 raises, ends FAILED by Keras
  Tuner's rules, and the search goes on to its plan of 4 trials; search_info.json and the
  report say which trial failed and why."""
  out = str(tmp_path)
  caplog.set_level(logging.INFO, logger='absl')
  _search_on_beam(out, 'faulty_tuner_fn', RANDOM_CONFIG, TWO_WORKERS)
  printed = ''.join(capfd.readouterr()) + caplog.text
  assert 'Traceback' not in printed
  (line,) = helpers.progress_lines(caplog, 'FAILED')
  assert line.endswith('FAILED: ValueError: a deliberate error in trial 2 (full traceback: '
                       f'{glob.glob(os.path.join(out, "state", "*", "kinds"))[0]}'
                       '/trial_2/trial_error.log)'), line
  _, _, info, rows = helpers.tuner_outputs(out)
  by_id = {r['trial_id']: r for r in rows}
  assert len(rows) == 4  # the plan: max_trials=4
  assert {i for i, r in by_id.items() if r['status'] == 'COMPLETED'} == {'0', '1', '3'}
  assert by_id['2']['status'] == 'FAILED'
  assert by_id['2']['error'] == 'ValueError: a deliberate error in trial 2'
  assert info['trials_completed'] == 3
  (failed,) = info['failed_trials']
  assert failed['trial_id'] == '2' and failed['error'] == by_id['2']['error']
  # Trial 1 died once (its marker file is there) and ran again.
  batches = info['beam']['batches']
  restarts = {k: v for b in batches for k, v in b['trial_process_restarts'].items()}
  assert restarts == {'1': ['was killed (signal 9)']}
  assert glob.glob(os.path.join(out, 'state', '*', 'kinds', 'killed-trial-1'))
  # Two batches of two, each on two Beam worker processes.
  assert [b['trials'] for b in batches] == [['0', '1'], ['2', '3']]
  assert info['trials_on'] == 'beam' and info['beam']['runner'] == 'DirectRunner'
  workers = {r['trial_id']: r['worker'] for r in rows}
  assert workers['0'] != workers['1'] and workers['2'] != workers['3']
  assert all(w.split(':')[1].isdigit() for w in workers.values())
  with open(os.path.join(out, 'results', 'report.html')) as f:
    report = f.read()
  assert 'Failed trials' in report and 'a deliberate error in trial 2' in report


def test_hyperband_on_the_portable_runner_hands_checkpoints_between_rounds(tmp_path):
  """A stock Hyperband through PortableRunner (Beam's embedded job service, LOOPBACK workers:
  the path Flink and Spark take): every trial of its plan completes, and a later round's
  trial resumed from its parent's checkpoint in the shared search directory."""
  from tfx_hypertune.components.tuner import plan
  out = str(tmp_path)
  _search_on_beam(out, 'hyperband_tuner_fn', {'epochs': 3}, PORTABLE)
  _, _, info, rows = helpers.tuner_outputs(out)
  assert info['beam']['runner'] == 'PortableRunner'
  planned = plan.hyperband_trials(3, 3)
  assert len(rows) == planned and all(r['status'] == 'COMPLETED' for r in rows)
  trials = helpers.tuner_trial_files(out)['COMPLETED']
  promoted = [t for t in trials if 'tuner/trial_id' in t['hyperparameters']['values']]
  assert promoted, 'no Hyperband round resumed a parent trial'
  for trial in promoted:
    parent = trial['hyperparameters']['values']['tuner/trial_id']
    assert glob.glob(os.path.join(out, 'state', '*', 'kinds', f'trial_{parent}',
                                  'checkpoint*'))
    # It trained from its parent's epochs on: its first epoch is after initial_epoch.
    stats = _trial_stats(os.path.join(out, 'state', '*', 'kinds'))[trial['trial_id']]
    assert stats['epochs'][0] == trial['hyperparameters']['values']['tuner/initial_epoch'] + 1


def test_the_driver_killed_mid_search_resumes_from_its_saved_oracle(tmp_path):
  """The Tuner's own process (the driver) SIGKILLed with its Beam workers after the first
  batch: the next execution resumes the saved oracle and runs only the rest of the plan."""
  out = str(tmp_path)
  child = subprocess.Popen([sys.executable, '-m', 'tests.e2e.test_beam_trials_e2e', out,
                            'random_tuner_fn', json.dumps(RANDOM_CONFIG)],
                           cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
  deadline = time.monotonic() + 300
  try:
    while len(helpers.tuner_trial_files(out).get('COMPLETED', [])) < 2:
      assert child.poll() is None, 'the search ended before it could be killed'
      assert time.monotonic() < deadline, 'no batch finished in 5 minutes'
      time.sleep(0.2)
  finally:
    os.killpg(child.pid, signal.SIGKILL)  # the driver, its Beam workers, their trials
    child.wait()
  finished = {t['trial_id'] for t in helpers.tuner_trial_files(out).get('COMPLETED', [])}
  assert 2 <= len(finished) < 4, 'the kill came too late to test a resume'
  _search_on_beam(out, 'random_tuner_fn', RANDOM_CONFIG, TWO_WORKERS)
  _, _, info, rows = helpers.tuner_outputs(out)
  assert info['resumed'] is True
  assert set(info['trials_finished_before_this_run']) == finished
  assert info['trials_completed'] == 4
  assert len({r['trial_id'] for r in rows if r['status'] == 'COMPLETED'}) == 4
  ran_now = {t for b in info['beam']['batches'] for t in b['trials']}
  assert not ran_now & finished  # nothing finished was run again


if __name__ == '__main__':
  _search_on_beam(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), TWO_WORKERS,
                  **({'search_state_dir': sys.argv[4]} if len(sys.argv) > 4 else {}))
  sys.stdout.flush()
  os._exit(0)  # noqa: SLF001  # tensorflow-io's S3 client aborts in teardown
  # when the search state is in a bucket)
