"""Ctrl-C and SIGTERM during the search: one line, exit 130, the search state intact; the same
command then resumes and finishes the search without running a finished trial again; and new
data warm-starts a new search from the finished one's best configurations. One pipeline,
interrupted twice, finished, then run on new rows (this replaced a separate SIGKILL-resume and
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
  from tfx_hypertune.hypertune import results  # pylint: disable=import-outside-toplevel
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


def test_interrupted_twice_then_resumed_then_warm_started_on_new_data(tmp_path):
  header, rows = read_digits_rows(1000)
  write_csv(tmp_path / 'data' / 'digits.csv', header, rows[:500])
  args = ['run', '--data', str(tmp_path / 'data'), '--label', 'label', '--output-dir',
          str(tmp_path / 'runs'), '--max-epochs', '4', '--seed', '4']
  state_root = str(tmp_path / 'runs' / 'hypertune-data' / 'pipeline_root' / 'TunerState')

  # Ctrl-C: the terminal signals the whole process group.
  code, out, err = _interrupt_after(_start(args), state_root, 1,
                                    lambda child: os.killpg(child.pid, signal.SIGINT))
  assert code == 130, err[-3000:]
  assert err.strip().splitlines()[-1] == (
      'hypertune: interrupted (SIGINT) during Tuner; the search state is kept: run the same '
      'command to resume')
  assert 'Traceback' not in out + err
  assert 'Unable to register cuFFT factory' not in err  # no GPU noise on start-up
  _oracles_readable(state_root)
  finished = _completed(state_root)

  # SIGTERM to the process alone (what Kubernetes or a scheduler sends), in the resumed run.
  code, out, err = _interrupt_after(_start(args), state_root, finished + 1,
                                    lambda child: child.send_signal(signal.SIGTERM))
  assert code == 130, err[-3000:]
  assert f'(resuming: {finished} trials already finished)' in out
  assert err.strip().splitlines()[-1].startswith(
      'hypertune: interrupted (SIGTERM) during Tuner; the search state is kept')
  assert 'Traceback' not in out + err
  _oracles_readable(state_root)
  interrupted = _completed_trials(state_root)

  # The same command again, left alone: it finishes the search, running no finished trial again.
  from tfx_hypertune.components.tuner import search  # pylint: disable=import-outside-toplevel
  from tfx_hypertune.hypertune import cli  # pylint: disable=import-outside-toplevel
  run_dir = str(tmp_path / 'runs' / 'hypertune-data')
  assert cli.main(args) == 0
  info, results_dir = _search_info(run_dir)
  assert info['resumed'] is True
  assert len(info['trials_finished_before_this_run']) == len(interrupted)
  planned = search.planned_trials({'algorithm': 'hyperband', 'max_epochs': 4, 'factor': 3,
                                   'hyperband_iterations': 1})
  finished = _completed_trials(state_root)
  assert len(finished) == planned == 10  # the whole Hyperband plan, once
  for path, stats in interrupted.items():
    assert finished[path] == stats, f'{path} was run again'
  with open(os.path.join(results_dir, 'trials.csv')) as f:
    trial_rows = list(csv.DictReader(f))
  # Every trial of the plan completed once. (Seen once in CI: a trial caught by a signal stayed
  # RUNNING in its trial.json and was never retried, most likely a signal between Keras
  # Tuner's writes of trial.json and oracle.json in create_trial; not fixed yet.)
  assert len([r for r in trial_rows if r['status'] == 'COMPLETED']) == planned
  assert len(trial_rows) <= planned + 1

  # New rows arrive: a new search of the same settings, which tries the finished search's 3
  # best configurations first.
  previous_best = _previous_best(results_dir, 3)
  write_csv(tmp_path / 'data' / 'digits.csv', header, rows[500:])
  assert cli.main(args) == 0
  info, results_dir = _search_info(run_dir)
  assert info['resumed'] is False
  assert [c['values'] for c in info['carried_over']] == previous_best
  with open(os.path.join(results_dir, 'trials.csv')) as f:
    first_trials = list(csv.DictReader(f))[:3]
  for row, item in zip(first_trials, info['carried_over']):
    for name, value in item['values'].items():
      assert float(row[name]) == pytest.approx(float(value)), (name, row, item)
  with open(os.path.join(results_dir, 'report.html')) as f:
    assert 'carried over from the previous search' in f.read()
