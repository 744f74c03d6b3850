"""Ctrl-C and SIGTERM during the search: one line, exit 130, the search state intact; the same
command then resumes and finishes the search without running a finished trial again; and new
data warm-starts a new search from the finished one's best configurations. One pipeline,
interrupted twice, finished, then run on new rows, in four phases that each test names (this
replaced a separate SIGKILL-resume and
warm-start test: a SIGKILLed search resuming is test_tuner_kinds_e2e.py's, on a stock tuner).

The child starts with SIGINT at its default (a background job of a non-interactive shell, CI
included, would inherit it ignored) in a session of its own, so the test can signal its process
group as a terminal does."""

import csv
import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, read_digits_rows, write_csv

pytestmark = pytest.mark.e2e


def _start(args):
  return subprocess.Popen(
      [sys.executable, '-m', 'tfx_hypertune.hypertune.cli', *args], cwd=REPO,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
      preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _completed_trials(state_root):
  """{trial.json path: its trial_stats.json bytes} of every COMPLETED trial of every search."""
  done = {}
  for path in glob.glob(os.path.join(state_root, '*', 'trials', 'trial_*', 'trial.json')):
    try:
      with open(path) as f:
        completed = json.load(f)['status'] == 'COMPLETED'
      if completed:
        with open(os.path.join(os.path.dirname(path), 'trial_stats.json'), 'rb') as f:
          done[path] = f.read()
    except (OSError, ValueError):  # being written as we look
      pass
  return done


def _completed(state_root):
  return len(_completed_trials(state_root))


def _interrupt_after(child, state_root, trials, send):
  deadline = time.monotonic() + 600
  while _completed(state_root) < trials:
    assert child.poll() is None, child.communicate()
    assert time.monotonic() < deadline, 'the search did not get that far in 10 minutes'
    time.sleep(0.1)
  send(child)
  out, err = child.communicate(timeout=300)
  return child.returncode, out, err


def _oracles_readable(state_root):
  oracles = glob.glob(os.path.join(state_root, '*', 'trials', 'oracle.json'))
  assert oracles
  for path in oracles:
    with open(path) as f:
      json.load(f)


def _search_info(run_dir):
  from tfx_hypertune.hypertune import results
  tuner = results.latest_run(os.path.join(run_dir, 'metadata.sqlite'))['Tuner']
  with open(os.path.join(tuner.uri('tuner_results'), 'search_info.json')) as f:
    return json.load(f), tuner.uri('tuner_results')


def _previous_best(results_dir, count):
  """The `count` best distinct configurations of a search, from its stock tuner_results.json
  (best first; Hyperband re-runs a configuration per round, tuner/ values set apart)."""
  with open(os.path.join(results_dir, 'tuner_results.json')) as f:
    ranked = json.load(f)
  distinct = []
  for trial in ranked:
    values = {k: v for k, v in trial.items()
              if k not in ('trial_id', 'score') and not k.startswith('tuner/')}
    if values not in distinct:
      distinct.append(values)
  return distinct[:count]


# One pipeline through four phases, each a fixture run once, in order; each test checks one
# phase, so a failure names the phase it is in.


@pytest.fixture(scope='module')
def scenario(tmp_path_factory):
  tmp_path = tmp_path_factory.mktemp('interrupts')
  header, rows = read_digits_rows(1000)
  write_csv(tmp_path / 'data' / 'digits.csv', header, rows[:500])
  return {
      'tmp_path': tmp_path, 'header': header, 'rows': rows,
      'args': ['run', '--data', str(tmp_path / 'data'), '--label', 'label', '--output-dir',
               str(tmp_path / 'runs'), '--max-epochs', '4', '--seed', '4'],
      'state_root': str(tmp_path / 'runs' / 'hypertune-data' / 'pipeline_root' / 'Tuner' /
                        'TunerState'),
      'run_dir': str(tmp_path / 'runs' / 'hypertune-data')}


@pytest.fixture(scope='module')
def ctrl_c(scenario):
  """Ctrl-C during the search: the terminal signals the whole process group."""
  code, out, err = _interrupt_after(_start(scenario['args']), scenario['state_root'], 1,
                                    lambda child: os.killpg(child.pid, signal.SIGINT))
  return {'code': code, 'out': out, 'err': err,
          'finished': _completed(scenario['state_root'])}


@pytest.fixture(scope='module')
def sigterm(scenario, ctrl_c):
  """SIGTERM to the process alone (what Kubernetes or a scheduler sends), in the resumed run."""
  code, out, err = _interrupt_after(_start(scenario['args']), scenario['state_root'],
                                    ctrl_c['finished'] + 1,
                                    lambda child: child.send_signal(signal.SIGTERM))
  return {'code': code, 'out': out, 'err': err,
          'interrupted': _completed_trials(scenario['state_root'])}


@pytest.fixture(scope='module')
def finished(scenario, sigterm):
  """The same command again, left alone."""
  del sigterm
  from tfx_hypertune.hypertune import cli
  code = cli.main(scenario['args'])
  info, results_dir = _search_info(scenario['run_dir'])
  with open(os.path.join(results_dir, 'trials.csv')) as f:
    trial_rows = list(csv.DictReader(f))
  return {'code': code, 'info': info, 'results_dir': results_dir, 'rows': trial_rows,
          'completed': _completed_trials(scenario['state_root'])}


@pytest.fixture(scope='module')
def warm_started(scenario, finished):
  """New rows arrive: a new search of the same settings."""
  from tfx_hypertune.hypertune import cli
  previous_best = _previous_best(finished['results_dir'], 3)
  write_csv(scenario['tmp_path'] / 'data' / 'digits.csv', scenario['header'],
            scenario['rows'][500:])
  code = cli.main(scenario['args'])
  info, results_dir = _search_info(scenario['run_dir'])
  return {'code': code, 'info': info, 'results_dir': results_dir,
          'previous_best': previous_best}


def test_ctrl_c_stops_in_one_line_with_the_state_kept(scenario, ctrl_c):
  code, out, err = ctrl_c['code'], ctrl_c['out'], ctrl_c['err']
  assert code == 130, err[-3000:]
  assert err.strip().splitlines()[-1] == (
      'hypertune: interrupted (SIGINT) during Tuner; the search state is kept: run the same '
      'command to resume')
  assert 'Traceback' not in out + err
  assert 'Unable to register cuFFT factory' not in err  # no GPU noise on start-up
  _oracles_readable(scenario['state_root'])


def test_sigterm_in_the_resumed_run_stops_it_in_one_line(scenario, ctrl_c, sigterm):
  code, out, err = sigterm['code'], sigterm['out'], sigterm['err']
  assert code == 130, err[-3000:]
  assert f'(resuming: {ctrl_c["finished"]} trials already finished)' in out
  assert err.strip().splitlines()[-1].startswith(
      'hypertune: interrupted (SIGTERM) during Tuner; the search state is kept')
  assert 'Traceback' not in out + err
  _oracles_readable(scenario['state_root'])


def test_the_resumed_search_finishes_its_plan_running_nothing_twice(sigterm, finished):
  from tfx_hypertune.model import search_config
  assert finished['code'] == 0
  info, interrupted = finished['info'], sigterm['interrupted']
  assert info['resumed'] is True
  assert len(info['trials_finished_before_this_run']) == len(interrupted)
  planned = search_config.planned_trials({'algorithm': 'hyperband', 'max_epochs': 4,
                                          'factor': 3, 'hyperband_iterations': 1,
                                          'max_trials': None})
  assert len(finished['completed']) == planned == 10  # the whole Hyperband plan, once
  for path, stats in interrupted.items():
    assert finished['completed'][path] == stats, f'{path} was run again'
  # Every trial of the plan completed once, and no other trial is left: a trial that a signal
  # caught between Keras Tuner's writes of trial.json and oracle.json is set aside or run
  # again on resume (oracle_mixin.repair_reload), never left RUNNING.
  assert [r['status'] for r in finished['rows']] == ['COMPLETED'] * planned


def test_new_rows_warm_start_from_the_finished_search(warm_started):
  assert warm_started['code'] == 0
  info, results_dir = warm_started['info'], warm_started['results_dir']
  assert info['resumed'] is False
  assert [c['values'] for c in info['carried_over']] == warm_started['previous_best']
  with open(os.path.join(results_dir, 'trials.csv')) as f:
    first_trials = list(csv.DictReader(f))[:3]
  for row, item in zip(first_trials, info['carried_over']):
    for name, value in item['values'].items():
      assert float(row[name]) == pytest.approx(float(value)), (name, row, item)
  with open(os.path.join(results_dir, 'report.html')) as f:
    assert 'carried over from the previous search' in f.read()
