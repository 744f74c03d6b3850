"""Regression through the same pipeline: the bundled diabetes example (examples/diabetes.yaml)
with LocalDagRunner. (Its compiled Kubeflow spec: tests/unit/test_kubeflow_compile.py.)

The pushed model is checked the way a user would: `hypertune predict` on the held-out rows
(the test split, by position) against always predicting the training rows' mean.
"""

import csv
import json
import os
import re

import pytest

from tfx_hypertune.components import splits
from tfx_hypertune.hypertune import results
from tests.conftest import REPO
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

EXAMPLE = os.path.join(REPO, 'examples', 'diabetes.yaml')
DATA = os.path.join(REPO, 'data', 'diabetes', 'diabetes.csv')
BUDGET = ['--max-epochs', '9', '--seed', '3']
# The model must make at most this share of the training mean's squared error on held-out rows.
MSE_SHARE_CEILING = 0.8


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  output_dir = tmp_path_factory.mktemp('diabetes')
  from tfx_hypertune.hypertune import cli
  assert cli.main(['run', '--config', EXAMPLE, '--output-dir', str(output_dir), *BUDGET]) == 0
  run_dir = output_dir / 'hypertune-diabetes'
  return {'run_dir': run_dir, 'serving': str(run_dir / 'serving'),
          'summary': results.summarize(str(run_dir / 'metadata.sqlite'),
                                       str(run_dir / 'pipeline_root'))}


def _rows_by_split():
  """The CSV's rows by split, as ExampleGen assigns them (components/splits.py)."""
  with open(DATA, newline='') as f:
    reader = csv.reader(f)
    header, rows = next(reader), list(reader)
  by_split = {name: [] for name, _ in splits.DEFAULT_SPLITS}
  names = [name for name, _ in splits.DEFAULT_SPLITS]
  for row, split in zip(rows, splits.assign(len(rows), os.path.basename(DATA), seed=3)):
    by_split[names[split]].append(row)
  return header, by_split


def test_the_summary_names_the_task_and_the_errors(run):
  summary = run['summary']
  assert summary.task == 'regression'
  assert summary.lines()[0] == 'task:                 regression'
  assert summary.blessed and summary.pushed_to
  assert summary.blessing_rule.startswith(f'yes: RMSE {summary.rmse:.4f} (MAE {summary.mae:.4f})')
  assert 'always predicting the training mean' in summary.blessing_rule


def test_predictions_on_held_out_rows_beat_the_training_mean(run, tmp_path, capsys):
  header, by_split = _rows_by_split()
  label = header.index('progression')
  held_out = tmp_path / 'held_out.csv'
  with open(held_out, 'w', newline='') as f:
    csv.writer(f).writerows([header] + by_split['test'])
  code, out, err = helpers.run_cli(capsys, 'predict', '--model', run['serving'],
                                   '--data', str(held_out))
  assert code == 0
  predicted = [float(line) for line in out.strip().splitlines()[1:]]
  truth = [float(row[label]) for row in by_split['test']]
  assert out.startswith('predicted_value') and len(predicted) == len(truth) > 50
  mse = sum((p - t) ** 2 for p, t in zip(predicted, truth)) / len(truth)
  train_mean = sum(float(row[label]) for row in by_split['train']) / len(by_split['train'])
  mean_mse = sum((train_mean - t) ** 2 for t in truth) / len(truth)
  assert mse < MSE_SHARE_CEILING * mean_mse, (mse, mean_mse)
  # The predictions are in the label's units (not standardised): their mean is near the data's.
  assert abs(sum(predicted) / len(predicted) - train_mean) < 0.25 * train_mean
  # predict's own figures are the same computation; TFMA's RMSE is over the same rows.
  reported = dict(re.findall(r'(\w+): ([\d.]+)', err))
  assert float(reported['rmse']) == pytest.approx(mse ** 0.5, rel=1e-4)
  assert run['summary'].rmse == pytest.approx(mse ** 0.5, rel=1e-3)


def test_the_report_ranks_and_plots_by_the_loss(run):
  summary = run['summary']
  results_dir = summary.trials_dir
  with open(os.path.join(results_dir, 'trials.csv')) as f:
    rows = [r for r in csv.DictReader(f) if r['status'] == 'COMPLETED']
  assert len(rows) == summary.trials >= 5
  for row in rows:  # the table's numbers are the trial files' numbers
    trial_dir = os.path.join(results_dir, 'search', 'trials', f'trial_{row["trial_id"]}')
    with open(os.path.join(trial_dir, 'trial.json')) as f:
      trial = json.load(f)
    losses = [o['value'][0] for o in trial['metrics']['metrics']['val_loss']['observations']]
    assert float(row['val_loss']) == pytest.approx(min(losses))
    assert float(row['score']) == pytest.approx(trial['score'])
    mae = trial['metrics']['metrics']['val_mean_absolute_error']['observations']
    assert float(row['val_mean_absolute_error']) == pytest.approx(min(o['value'][0] for o in mae))
    assert 'val_accuracy' not in row  # the table's metrics are what the trials recorded
  best = min(rows, key=lambda r: float(r['score']))  # lower is better
  assert summary.best_hyperparameters['num_layers'] == int(best['num_layers'])
  with open(os.path.join(results_dir, 'report.html')) as f:
    page = f.read()
  assert 'objective val_loss' in page and 'lower is better' in page
  assert 'accuracy' not in page.lower()  # a regression's report names only its own metrics
  assert set(rows[0]) >= {'val_loss', 'val_mean_absolute_error'} and not {
      name for name in rows[0] if 'accuracy' in name or name == 'val_auc'}
  assert f'Best: trial {best["trial_id"]}, val_loss {float(best["val_loss"]):.4f}' in page
  import tensorflow as tf
  for name in ('objective_by_trial.png', 'objective_vs_size.png', 'epochs_to_target.png'):
    with open(os.path.join(results_dir, name), 'rb') as f:
      image = tf.io.decode_png(f.read())
    assert image.shape[0] > 100 and image.shape[1] > 100
