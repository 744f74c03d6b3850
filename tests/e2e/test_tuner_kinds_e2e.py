"""Our Tuner's executor with stock tuner_fns of every kind of Keras Tuner tuner (tuner_fns.py),
on the penguin examples and schema that ship with tfx: the trial count in the tuner's own files,
the best hyperparameters the Trainer would receive, the report; and a stock RandomSearch
resumed after a SIGKILL.

    python -m tests.e2e.test_tuner_kinds_e2e OUT TUNER_FN CUSTOM_CONFIG_JSON
runs one execution (the SIGKILL test's child process)."""

import glob
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

FNS = 'tests.e2e.tuner_fns'


# kind: (trials its plan runs, the objective's direction)
KINDS = {
    'random': (3, 'max'),
    'bayesian': (3, 'max'),
    'grid': (4, 'max'),            # units 2 x learning_rate 2
    'hyperband': (6, 'max'),       # max_epochs 3, factor 3: 3 + 1 + 2 trials
    'hypermodel': (3, 'max'),
    'custom_run_trial': (3, 'min'),
}


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_each_kind_of_tuner(tmp_path, kind):
  expected, direction = KINDS[kind]
  helpers.run_tuner_executor(str(tmp_path), f'{FNS}.{kind}_tuner_fn',
                             {'epochs': 3 if kind == 'hyperband' else 2})
  completed = helpers.tuner_trial_files(str(tmp_path)).get('COMPLETED', [])
  assert len(completed) == expected
  best, results, info, rows = helpers.tuner_outputs(str(tmp_path))
  assert info['trials_completed'] == expected and info['direction'] == direction
  # best_hyperparameters.txt: HyperParameters.get_config() of the best trial of the files.
  best_trial = helpers.best_by_rule(completed, score=lambda t: t['score'],
                                    val_loss=helpers.trial_json_val_loss,
                                    trial_id=lambda t: t['trial_id'], direction=direction)
  assert best['values'] == best_trial['hyperparameters']['values']
  import keras_tuner
  assert keras_tuner.HyperParameters.from_config(best).values == best['values']
  # tuner_results.json in the stock format: every completed trial, best first.
  assert [r['trial_id'] for r in results][0] == best_trial['trial_id']
  assert len(results) == expected and {'trial_id', 'score'} < set(results[0])
  # The report knows every trial's size, whether run_trial called fit (our callback) or not
  # (the hypermodel built for its values).
  assert all(int(r['trainable_parameters']) > 0 for r in rows if r['status'] == 'COMPLETED')
  if kind == 'hypermodel':
    assert {r['batch_size'] for r in rows} <= {'8', '32'}
  if kind == 'hyperband':
    assert {r['bracket'] for r in rows} == {'0', '1'}


@pytest.mark.parametrize('parallel_trials', [1, 2])
def test_a_failed_trial_is_one_line_with_its_traceback_in_a_file(tmp_path, capfd, caplog,
                                                                  parallel_trials):
  """A trial whose code raises, searched in this process and by two parallel workers: the
  output says it in one line (the trial, its error, where its traceback is), never the
  traceback itself; the search goes on and the file holds the whole traceback."""
  caplog.set_level(logging.INFO, logger='absl')
  helpers.run_tuner_executor(str(tmp_path), f'{FNS}.raising_tuner_fn', {'trials': 3},
                             parallel_trials=parallel_trials)
  out, err = capfd.readouterr()
  assert 'Traceback' not in out + err + caplog.text
  (line,) = helpers.progress_lines(caplog, 'FAILED')
  assert re.search(r'\[Tuner +[\d.]+s\] trial \d of ~3 FAILED: ValueError: a deliberate error '
                   r'in trial 1 \(full traceback: (\S+/trial_1/trial_error\.log)\)$', line), line
  log = re.search(r'full traceback: (\S+)\)$', line).group(1)
  with open(log) as f:
    traceback_text = f.read()
  assert traceback_text.startswith('Traceback') and 'a deliberate error in trial 1' in (
      traceback_text) and 'run_trial' in traceback_text
  _, _, info, rows = helpers.tuner_outputs(str(tmp_path))
  assert info['trials_completed'] == 2
  assert [r['status'] for r in sorted(rows, key=lambda r: r['trial_id'])] == [
      'COMPLETED', 'FAILED', 'COMPLETED']


def test_a_search_whose_every_trial_fails_stops_in_one_line(tmp_path):
  """Keras Tuner stops a search after three failures in a row, with a traceback in its
  error's message; the Tuner says it in one line, naming the last trial's error and log."""
  from tfx_hypertune.components.tuner import executor
  with pytest.raises(executor.TrialsFailedError) as error:
    helpers.run_tuner_executor(str(tmp_path), f'{FNS}.raising_tuner_fn',
                               {'trials': 5, 'failing': ['*']})
  message = str(error.value)
  assert '\n' not in message
  assert re.fullmatch(r'Tuner: 3 trials in a row failed, and Keras Tuner stops a search then: '
                      r'3 trial\(s\) failed; the last, trial 2: ValueError: a deliberate error '
                      r'in trial 2 \(full traceback: \S+/trial_2/trial_error\.log\)',
                      message), message


def test_a_stock_random_search_resumes_after_sigkill(tmp_path):
  out = str(tmp_path)
  config = json.dumps({'trials': 6, 'epochs': 12})
  child = subprocess.Popen(
      [sys.executable, '-m', 'tests.e2e.test_tuner_kinds_e2e', out,
       f'{FNS}.random_tuner_fn', config], cwd=REPO, stdout=subprocess.DEVNULL,
      stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 300
  while len(helpers.tuner_trial_files(out).get('COMPLETED', [])) < 2 and child.poll() is None:
    assert time.monotonic() < deadline, 'no two trials finished in 5 minutes'
    time.sleep(0.2)
  child.send_signal(signal.SIGKILL)
  child.wait()
  finished = {t['trial_id'] for t in helpers.tuner_trial_files(out).get('COMPLETED', [])}
  assert 2 <= len(finished) < 6, 'the kill came too late to test a resume'
  helpers.run_tuner_executor(out, f'{FNS}.random_tuner_fn', json.loads(config))
  _, _, info, rows = helpers.tuner_outputs(out)
  assert info['resumed'] is True
  assert set(info['trials_finished_before_this_run']) == finished
  assert info['trials_completed'] == 6
  assert len([r for r in rows if r['status'] == 'COMPLETED']) == 6


def test_an_unreadable_search_state_is_set_aside_and_searched_afresh(tmp_path):
  """An oracle.json cut short (a kill mid-write, a full disk) used to fail every later run
  with a JSONDecodeError; now it is kept aside and the search starts again."""
  out = str(tmp_path)
  config = {'trials': 2, 'epochs': 1}
  helpers.run_tuner_executor(out, f'{FNS}.random_tuner_fn', config)
  (oracle,) = glob.glob(os.path.join(out, 'state', '*', 'kinds', 'oracle.json'))
  open(oracle, 'w').close()
  helpers.run_tuner_executor(out, f'{FNS}.random_tuner_fn', config)
  _, _, info, rows = helpers.tuner_outputs(out)
  (aside,) = info['unreadable_state_set_aside']
  assert os.path.basename(os.path.dirname(aside)).startswith('unreadable-')
  assert os.path.getsize(os.path.join(aside, 'oracle.json')) == 0  # kept as it was
  assert len(glob.glob(os.path.join(aside, 'trial_*', 'trial.json'))) == 2
  assert info['resumed'] is False and info['trials_completed'] == 2
  with open(oracle) as f:
    json.load(f)


def test_the_clock_ends_a_search_within_its_minutes_and_more_minutes_resume_it(tmp_path):
  """max_minutes on a stock RandomSearch of 6 planned trials (of 8 possible configurations):
  the search stops starting
  trials once the longest so far would overrun, ends within the minutes plus one trial, and
  hands on the best completed trial; the same search run again without a clock resumes and
  finishes the plan. The clock (1.2 s) holds about one trial: on a fast machine six trials of
  8 epochs took 5.7 s, which once fitted a 6-second clock."""
  out = str(tmp_path)
  config = {'trials': 6, 'epochs': 8}
  minutes = 0.02
  helpers.run_tuner_executor(out, f'{FNS}.random_tuner_fn', config, max_minutes=minutes)
  best, _, info, rows = helpers.tuner_outputs(out)
  completed = [r for r in rows if r['status'] == 'COMPLETED']
  assert info['stopped_by_clock'] is True and 1 <= len(completed) < 6
  assert info['planned_trials_not_run'] == 6 - len(completed)
  assert info['search_seconds'] <= minutes * 60 + info['longest_trial_seconds'] + 1
  best_row = helpers.best_row(completed)
  assert best['values']['units'] == int(best_row['units'])
  assert best['values']['learning_rate'] == pytest.approx(float(best_row['learning_rate']))
  finished = {r['trial_id'] for r in completed}

  # no clock this time: the same search resumes
  helpers.run_tuner_executor(out, f'{FNS}.random_tuner_fn', config)
  _, _, info, rows = helpers.tuner_outputs(out)
  assert info['resumed'] is True and set(info['trials_finished_before_this_run']) == finished
  assert info['stopped_by_clock'] is False and info['trials_completed'] == 6


def test_smallest_within_hands_on_the_smallest_full_length_trial(tmp_path):
  """select='smallest_within' on a stock Hyperband (trials of 1 and 3 epochs): with a
  tolerance that admits every trial, the Trainer gets the full-length (3-epoch) trial with the
  fewest trainable parameters, never a shorter one, and the files say which and why."""
  out = str(tmp_path)
  helpers.run_tuner_executor(out, f'{FNS}.hyperband_tuner_fn', {'epochs': 3},
                             select='smallest_within',
      select_tolerance=1.0)
  best, _, info, rows = helpers.tuner_outputs(out)
  size = {r['trial_id']: int(r['trainable_parameters']) for r in rows}
  trials = {t['trial_id']: t for t in helpers.tuner_trial_files(out)['COMPLETED']}
  full_length = [i for i, t in trials.items()
                 if t['hyperparameters']['values']['tuner/epochs'] == 3]
  assert len(full_length) < len(trials)  # Hyperband ran shorter trials too
  chosen = info['selection']['trial_id']
  assert chosen in full_length
  assert size[chosen] == min(size[i] for i in full_length)
  assert best['values'] == trials[chosen]['hyperparameters']['values']
  assert best['selection'] == info['selection']
  assert info['selection']['rule'] == 'smallest_within'
  assert info['selection']['reason'].startswith(f'trial {chosen}')
  with open(os.path.join(out, 'results', 'report.html')) as f:
    assert 'The trial the Trainer gets' in f.read()


if __name__ == '__main__':
  helpers.run_tuner_executor(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
