"""Trials on Beam (components/tuner/beam_trials.py): one Beam job per search, its slots
refilled as trials end, with stock Keras Tuner tuner_fns on the penguin data that ships with
tfx, on real Beam runners: the DirectRunner's worker processes (SDK harness subprocesses) and
the portable runner. A trial process killed, a trial that raises, a slot's whole worker killed,
the driver killed. Our own digits pipeline with its trials on Beam, the exchange in a bucket, is
the launched run of test_kubeflow_launcher_e2e.py (the compiled spec).

    python -m tests.e2e.test_beam_trials_e2e OUT TUNER_FN CONFIG_JSON
runs one execution on two Beam worker processes (the child of the kill tests)."""

import glob
import json
import logging
import os
import signal
import subprocess
import sys
import time

import apache_beam as beam
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


@pytest.fixture(scope='module')
def one_job(tmp_path_factory):
  """Six trials on two slots, one Beam job: trial 0 takes 8 s longer than the others, trial 1
  kills its own process the first time, trial 2 raises."""
  out = str(tmp_path_factory.mktemp('one-job'))
  runs = []
  real_run = beam.Pipeline.run

  def counted(pipeline, *args, **kwargs):
    runs.append(pipeline)
    return real_run(pipeline, *args, **kwargs)
  beam.Pipeline.run = counted
  logger = logging.getLogger('absl')
  handler = helpers.ProgressCollector()
  logger.addHandler(handler)
  level = logger.level
  logger.setLevel(logging.INFO)
  try:
    _search_on_beam(out, 'uneven_faulty_tuner_fn', {'trials': 6, 'epochs': 2}, TWO_WORKERS)
  finally:
    beam.Pipeline.run = real_run
    logger.removeHandler(handler)
    logger.setLevel(level)
  _, _, info, rows = helpers.tuner_outputs(out)
  return {'out': out, 'runs': len(runs), 'info': info, 'rows': {r['trial_id']: r for r in rows},
          'lines': handler.lines,
          'stats': _trial_stats(os.path.join(out, 'state', '*', 'kinds'))}


def test_one_beam_job_runs_the_whole_search_on_both_workers(one_job):
  info, rows = one_job['info'], one_job['rows']
  assert one_job['runs'] == 1  # one Beam pipeline for the search, not one per batch
  assert info['beam']['job_attempts'] == 1 and info['beam']['job_ended'] is True
  assert len(rows) == 6  # the plan: max_trials=6
  assert {i for i, r in rows.items() if r['status'] == 'COMPLETED'} == {'0', '1', '3', '4', '5'}
  assert sum(info['beam']['trials_per_slot'].values()) == 6
  workers = {r['worker'] for r in rows.values()}
  assert len(workers) == 2 and all(w.split(':')[1].isdigit() for w in workers)
  assert info['beam']['job_start_seconds'] > 0


def test_a_slot_that_finished_takes_the_next_trial_while_the_other_trains(one_job):
  """Trial 0 took 8 s longer; meanwhile the other slot started two trials or more (their start
  times fall inside trial 0's run, on another worker)."""
  stats = one_job['stats']
  slow = stats['0']
  start, end = slow['started_at'], slow['started_at'] + slow['trial_seconds']
  during = [t for t, s in stats.items() if t != '0' and start < s['started_at'] < end
            and s['beam_worker'] != slow['beam_worker']]
  assert len(during) >= 2, {t: (s['started_at'] - start, s['beam_worker'])
                            for t, s in stats.items()}


def test_a_killed_trial_runs_again_and_a_trial_that_raises_is_reported(one_job):
  info, rows, out = one_job['info'], one_job['rows'], one_job['out']
  assert rows['2']['status'] == 'FAILED'
  assert rows['2']['error'] == 'ValueError: a deliberate error in trial 2'
  (failed,) = info['failed_trials']
  assert failed['trial_id'] == '2' and failed['error'] == rows['2']['error']
  # Trial 1 died once (its marker file is there) and ran again in a new trial process.
  assert info['beam']['trial_process_restarts'] == {'1': ['was killed (signal 9)']}
  assert glob.glob(os.path.join(out, 'state', '*', 'kinds', 'killed-trial-1'))
  (line,) = [text for text in one_job['lines'] if 'FAILED' in text]
  assert line.endswith('FAILED: ValueError: a deliberate error in trial 2 (full traceback: '
                       f'{glob.glob(os.path.join(out, "state", "*", "kinds"))[0]}'
                       '/trial_2/trial_error.log)'), line
  assert not [text for text in one_job['lines'] if 'Traceback' in text]
  with open(os.path.join(out, 'results', 'report.html')) as f:
    report = f.read()
  assert 'Failed trials' in report and 'a deliberate error in trial 2' in report


def test_asha_on_the_portable_runner_hands_checkpoints_between_rungs(tmp_path):
  """The public ASHA tuner (tfx_hypertune.ASHA) in a tuner_fn, its trials on the
  PortableRunner (Beam's embedded job service, LOOPBACK workers: the path Flink and Spark
  take): every trial of its plan completes, and a promoted trial resumed from its parent's
  checkpoint in the shared search directory."""
  from tfx_hypertune.components.tuner import asha
  out = str(tmp_path)
  _search_on_beam(out, 'asha_tuner_fn', {'epochs': 3}, PORTABLE)
  _, _, info, rows = helpers.tuner_outputs(out)
  assert info['beam']['runner'] == 'PortableRunner'
  planned = asha.planned_trials(asha.default_configurations(3, 3), 3, 3)
  assert len(rows) == planned and all(r['status'] == 'COMPLETED' for r in rows)
  trials = helpers.tuner_trial_files(out)['COMPLETED']
  promoted = [t for t in trials if 'tuner/trial_id' in t['hyperparameters']['values']]
  assert promoted, 'no trial was promoted'
  for trial in promoted:
    parent = trial['hyperparameters']['values']['tuner/trial_id']
    assert glob.glob(os.path.join(out, 'state', '*', 'kinds', f'trial_{parent}',
                                  'checkpoint*'))
    # It trained from its parent's epochs on: its first epoch is after initial_epoch.
    stats = _trial_stats(os.path.join(out, 'state', '*', 'kinds'))[trial['trial_id']]
    assert stats['epochs'][0] == trial['hyperparameters']['values']['tuner/initial_epoch'] + 1


def _child(out, tuner_fn, config, env=None):
  return subprocess.Popen([sys.executable, '-m', 'tests.e2e.test_beam_trials_e2e', out,
                           tuner_fn, json.dumps(config)], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True,
                          env=env)


def _kill_group(child):
  """The child and whatever it left (Beam worker processes of a job it abandoned)."""
  try:
    os.killpg(child.pid, signal.SIGKILL)
  except ProcessLookupError:
    pass
  child.wait()


def _descendants(pid):
  """pid and every process below it (from /proc)."""
  children = {}
  for stat in glob.glob('/proc/[0-9]*/stat'):
    try:
      with open(stat) as f:
        fields = f.read().rsplit(')', 1)[1].split()
      children.setdefault(int(fields[1]), []).append(int(stat.split('/')[2]))
    except (OSError, IndexError, ValueError):
      continue
  found, stack = [], [pid]
  while stack:
    current = stack.pop()
    found.append(current)
    stack += children.get(current, [])
  return found


def test_a_slot_killed_mid_trial_has_its_trial_run_elsewhere(tmp_path):
  """Slot 1's whole Beam worker (the SDK harness process, its warm pool and its trial process)
  SIGKILLed while its trial trains (trial 0, made slow): its heartbeat stops, the driver hands
  the trial to slot 0, and the search completes with the full count."""
  out = str(tmp_path)
  env = dict(os.environ, HYPERTUNE_SLOT_LOST_SECONDS='12', HYPERTUNE_JOB_END_SECONDS='10')
  child = _child(out, 'uneven_faulty_tuner_fn', {'trials': 4, 'epochs': 2, 'slow_seconds': 15},
                 env)
  killed = None
  deadline = time.monotonic() + 300
  try:
    while killed is None:
      assert child.poll() is None, child.communicate()[0][-3000:]
      assert time.monotonic() < deadline, 'trial 0 never started on a slot'
      for beat_file in glob.glob(os.path.join(out, 'state', '*', 'beam', '*', 'slot-*',
                                              'heartbeat.json')):
        try:
          with open(beat_file) as f:
            beat = json.load(f)
        except ValueError:
          continue
        if beat.get('trial_id') == '0':
          killed = {'slot': os.path.basename(os.path.dirname(beat_file)),
                    'worker': beat['worker']}
          for pid in _descendants(int(beat['worker'].split(':')[1])):
            os.kill(pid, signal.SIGKILL)
          break
      time.sleep(0.3)
    output, _ = child.communicate(timeout=600)
  finally:
    _kill_group(child)
  assert child.returncode == 0, output[-3000:]
  _, _, info, rows = helpers.tuner_outputs(out)
  # The killed slot was taken for lost (the DirectRunner may retry its bundle on a new worker
  # process, which may be lost again while the machine is loaded: at least once).
  assert killed['slot'].split('-')[1] in info['beam']['slots_lost']
  assert len(rows) == 4 and rows[0]['trial_id'] == '0'
  assert {r['trial_id']: r['status'] for r in rows}['0'] == 'COMPLETED'
  ran_again_on = {r['trial_id']: r['worker'] for r in rows}['0']
  assert ran_again_on != killed['worker']  # the other slot ran it
  assert 'trial 0 runs again elsewhere' in output


def test_the_driver_killed_mid_search_resumes_from_its_saved_oracle(tmp_path):
  """The Tuner's own process (the driver) SIGKILLed with its Beam workers after two trials:
  the next execution resumes the saved oracle and runs only the rest of the plan, the trials
  that were running included."""
  out = str(tmp_path)
  child = _child(out, 'random_tuner_fn', RANDOM_CONFIG)
  deadline = time.monotonic() + 300
  try:
    while len(helpers.tuner_trial_files(out).get('COMPLETED', [])) < 2:
      assert child.poll() is None, 'the search ended before it could be killed'
      assert time.monotonic() < deadline, 'no trial finished in 5 minutes'
      time.sleep(0.2)
  finally:
    _kill_group(child)  # the driver, its Beam workers, their trials
  finished = {t['trial_id'] for t in helpers.tuner_trial_files(out).get('COMPLETED', [])}
  assert 2 <= len(finished) < 4, 'the kill came too late to test a resume'
  _search_on_beam(out, 'random_tuner_fn', RANDOM_CONFIG, TWO_WORKERS)
  _, _, info, rows = helpers.tuner_outputs(out)
  assert info['resumed'] is True
  assert set(info['trials_finished_before_this_run']) == finished
  assert info['trials_completed'] == 4
  assert [r['status'] for r in rows] == ['COMPLETED'] * 4  # none left RUNNING
  assert sum(info['beam']['trials_per_slot'].values()) == 4 - len(finished)


if __name__ == '__main__':
  from absl import logging as absl_logging
  absl_logging.set_verbosity(absl_logging.INFO)
  _search_on_beam(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), TWO_WORKERS)
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(0)  # tensorflow-io's S3 client aborts in teardown when the state is in a bucket
