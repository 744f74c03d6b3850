"""A fraud-like table, as a new user brings it: 1,200 rows, about 3% positives that follow a
simple rule in one feature. With the default objective every trial would score the majority
rate; the run warns before the search and names the settings that help. With them (objective
val_auc, class_weight balanced) the model must learn the rule: test AUC far above 0.5, blessed
by the imbalanced rule (balanced accuracy), and pushed."""

import contextlib
import csv
import io
import json
import os
import random

import pytest

from tests.conftest import write_csv
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

SETTINGS = ['--objective', 'val_auc', '--set', 'training.class_weight=balanced']


def fraud_rows(n=1200, seed=7):
  """`fraud` when amount > 1.88 (standard normal: ~3%); three more numbers and a channel are
  noise."""
  rng = random.Random(seed)
  rows = []
  for _ in range(n):
    amount, age, hour, score = (rng.gauss(0, 1) for _ in range(4))
    rows.append(['fraud' if amount > 1.88 else 'ok', f'{amount:.4f}', f'{age:.4f}',
                 f'{hour:.4f}', f'{score:.4f}', rng.choice(['web', 'shop', 'phone'])])
  return ['label', 'amount', 'age', 'hour', 'score', 'channel'], rows


@pytest.fixture(scope='module')
def fraud_run(tmp_path_factory):
  from tfx_hypertune.hypertune import cli, results
  root = tmp_path_factory.mktemp('imbalanced')
  header, rows = fraud_rows()
  assert 0.02 < sum(r[0] == 'fraud' for r in rows) / len(rows) < 0.04
  write_csv(root / 'data' / 'transactions.csv', header, rows)
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    code = cli.main(['run', '--data', str(root / 'data'), '--output-dir', str(root / 'runs'),
                     '--max-epochs', '5', *SETTINGS])
  run_dir = root / 'runs' / 'hypertune-data'
  return {'code': code, 'out': out.getvalue(), 'run_dir': run_dir,
          'summary': results.summarize(str(run_dir / 'metadata.sqlite'),
                                       str(run_dir / 'pipeline_root'))}


def test_the_run_says_the_label_is_imbalanced_before_the_search(fraud_run):
  lines = fraud_run['out'].splitlines()
  warning = next(i for i, line in enumerate(lines) if line.startswith('hypertune: warning:'))
  assert "class 'ok' holds 9" in lines[warning] and 'balanced accuracy' in lines[warning]
  assert warning < next(i for i, line in enumerate(lines) if line.startswith('search:'))


def test_the_rule_is_learned_and_blessed_by_balanced_accuracy(fraud_run):
  assert fraud_run['code'] == 0
  summary = fraud_run['summary']
  assert summary.auc > 0.9  # the majority-class model scores 0.5
  assert summary.balanced_accuracy > 0.7
  assert summary.blessed
  assert summary.blessing_rule.startswith('yes: balanced accuracy ')
  assert 'vs 0.5500 needed' in summary.blessing_rule
  assert f'AUC {summary.auc:.4f}' in fraud_run['out']
  assert len(helpers.serving_versions(str(fraud_run['run_dir'] / 'serving'))) == 1


def test_trials_carry_auc_and_balanced_accuracy(fraud_run):
  with open(os.path.join(fraud_run['summary'].trials_dir, 'trials.csv')) as f:
    completed = [r for r in csv.DictReader(f) if r['status'] == 'COMPLETED']
  assert len(completed) == 10  # Hyperband's plan for max_epochs 5, factor 3
  for row in completed:
    assert float(row['score']) == pytest.approx(float(row['val_auc']))
    assert 0.0 <= float(row['val_balanced_accuracy']) <= 1.0
  assert max(float(r['val_auc']) for r in completed) > 0.9


def test_the_trainer_used_the_objective_and_class_weights(fraud_run):
  from tfx_hypertune.hypertune import results
  from tfx_hypertune.model import trainer
  trainer_node = results.latest_run(str(fraud_run['run_dir'] / 'metadata.sqlite'))['Trainer']
  with open(os.path.join(trainer_node.uri('model_run'), trainer.TRAINING_SUMMARY_FILE)) as f:
    training = json.load(f)
  assert training['val_auc'] and training['val_balanced_accuracy']
  assert max(training['val_auc']) > 0.9
  # Balanced weights: the rare class weighs ~30x the common one (2.4% vs 97.6% of the rows).
  weights = sorted(training['class_weight'].values())
  assert weights[1] / weights[0] > 20
