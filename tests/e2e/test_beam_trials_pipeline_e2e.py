"""The default digits search with its trials on Beam, as a user runs it:
`hypertune run --trials-on beam --set search.parallel_trials=2` (the DirectRunner's worker
processes, two per batch), through the whole pipeline to a pushed model."""

import glob
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import read_digits_rows, write_csv
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

ROWS = 900


@pytest.fixture(scope='module')
def beam_run(tmp_path_factory):
  work = tmp_path_factory.mktemp('beam-run')
  header, rows = read_digits_rows(ROWS)
  write_csv(work / 'data' / 'digits.csv', header, rows)
  done = subprocess.run(
      [sys.executable, '-m', 'tfx_hypertune.hypertune.cli', 'run', '--data',
       str(work / 'data'), '--output-dir', str(work / 'runs'), '--max-epochs', '3',
       '--trials-on', 'beam', '--set', 'search.parallel_trials=2'],
      cwd=work, capture_output=True, text=True, timeout=900, check=False)
  assert done.returncode == 0, done.stderr[-3000:]
  (info_path,) = glob.glob(str(work / 'runs' / '*' / 'pipeline_root' / 'Tuner' /
                               'tuner_results' / '*' / 'search_info.json'))
  with open(info_path) as f:
    info = json.load(f)
  return {'done': done, 'info': info, 'work': work}


def test_every_trial_of_the_plan_ran_on_beam_worker_processes(beam_run):
  from tfx_hypertune.components.tuner import search
  info = beam_run['info']
  plan = search.planned_trials({'algorithm': 'hyperband', 'max_epochs': 3, 'factor': 3,
                                'hyperband_iterations': 1})
  assert info['trials_on'] == 'beam' and info['beam']['runner'] == 'DirectRunner'
  assert info['trials_completed'] == plan == 6
  assert '--direct_num_workers=2' in info['beam']['beam_pipeline_args']
  # Both worker processes of a batch of two are in the trial files.
  stats = {}
  for path in glob.glob(os.path.join(info['tuner_project_dir'], 'trial_*', 'trial_stats.json')):
    with open(path) as f:
      stats[os.path.basename(os.path.dirname(path))[len('trial_'):]] = json.load(f)
  assert len(stats) == plan
  pairs = [batch['trials'] for batch in info['beam']['batches'] if len(batch['trials']) == 2]
  assert pairs, 'no batch ran two trials'
  for first, second in pairs:
    assert stats[first]['beam_worker'] != stats[second]['beam_worker']


def test_the_tuned_model_is_trained_and_pushed(beam_run):
  out = beam_run['done'].stdout
  assert 'Beam batch 1:' in out and 'blessed:              yes' in out
  best = json.loads(out.split('best hyperparameters: ', 1)[1].splitlines()[0])
  pushed = out.split('pushed model:', 1)[1].splitlines()[0].strip()
  widths = [best[f'units_{i}'] for i in range(best['num_layers'])]
  assert helpers.saved_model_hidden_widths(pushed) == widths


def test_the_beam_workers_add_no_noise(beam_run):
  """The worker processes' start-up warnings (Beam's, the google-cloud libraries') stay out of
  the run's output."""
  done = beam_run['done']
  for noise in ('FutureWarning', 'WARNING:apache_beam', 'Traceback'):
    assert noise not in done.stdout + done.stderr, noise
