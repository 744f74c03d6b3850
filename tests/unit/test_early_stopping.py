"""The median rule (components/tuner/early_stopping.py) on synthetic curves, and through a real
oracle: an epoch's report answered STOPPED when the rule says so, Keras Tuner's own records
untouched, the decision kept in the oracle's saved state."""

import keras_tuner
import pytest

from tfx_hypertune.components.tuner import early_stopping, oracles


def _curves(*curves):
  """{trial id: {epoch: value}} from lists of per-epoch values (epochs from 1)."""
  return {str(i): {e + 1: v for e, v in enumerate(curve)} for i, curve in enumerate(curves)}


GOOD = [0.5, 0.7, 0.8, 0.85, 0.9]
OK = [0.4, 0.6, 0.7, 0.75, 0.8]
FAIR = [0.3, 0.5, 0.6, 0.7, 0.75]


def test_a_trial_below_the_median_stops_after_the_warm_up():
  history = {**_curves(GOOD, OK, FAIR), 'weak': {1: 0.1, 2: 0.2, 3: 0.3}}
  assert not early_stopping.median_says_stop(history, 'weak', 2, 'max')  # warm-up
  assert early_stopping.median_says_stop(history, 'weak', 3, 'max')  # 0.3 < median 0.7


def test_a_trial_at_or_above_the_median_goes_on():
  history = {**_curves(GOOD, OK, FAIR), 'fine': {1: 0.4, 2: 0.65, 3: 0.7}}
  assert not early_stopping.median_says_stop(history, 'fine', 3, 'max')  # 0.7 == median


def test_the_best_so_far_counts_not_the_last_epoch():
  history = {**_curves(GOOD, OK, FAIR), 'dip': {1: 0.75, 2: 0.2, 3: 0.1}}
  assert not early_stopping.median_says_stop(history, 'dip', 3, 'max')  # best so far 0.75


def test_a_loss_goes_the_other_way():
  losses = _curves([1.0, 0.6, 0.4], [1.1, 0.7, 0.5], [1.2, 0.8, 0.6])
  history = {**losses, 'weak': {1: 2.0, 2: 1.5, 3: 1.2}, 'strong': {1: 0.9, 2: 0.5, 3: 0.3}}
  assert early_stopping.median_says_stop(history, 'weak', 3, 'min')
  assert not early_stopping.median_says_stop(history, 'strong', 3, 'min')


def test_too_few_other_trials_at_the_epoch_stop_nothing():
  history = {**_curves(GOOD, OK, [0.3, 0.5]), 'weak': {1: 0.1, 2: 0.2, 3: 0.3}}
  # Only two other trials reached epoch 3 (the third stopped at 2).
  assert not early_stopping.median_says_stop(history, 'weak', 3, 'max')


def _oracle(tmp_path, rule):
  hp = keras_tuner.HyperParameters()
  hp.Int('units', 1, 100)
  oracle = oracles.RandomSearchOracle(objective='val_accuracy', max_trials=10, seed=1,
                                      hyperparameters=hp)
  oracle._set_project_dir(str(tmp_path), 'rule')
  oracle.trial_stopping = rule
  return oracle


def _report(oracle, trial, epoch, value):
  return oracle.update_trial(trial.trial_id, {'val_accuracy': value,
                                              early_stopping.EPOCH_REPORT: epoch},
                             step=epoch - 1)


@pytest.mark.parametrize('rule, stops', [('median', True), ('none', False)])
def test_the_oracle_answers_an_epochs_report(tmp_path, rule, stops):
  oracle = _oracle(tmp_path, rule)
  for curve in (GOOD, OK, FAIR):
    trial = oracle.create_trial('tuner0')
    for epoch, value in enumerate(curve, start=1):
      assert _report(oracle, trial, epoch, value).status == 'RUNNING'
    # Keras Tuner's own report of the finished trial: its best epoch.
    oracle.update_trial(trial.trial_id, {'val_accuracy': max(curve)}, step=len(curve) - 1)
    trial.status = 'COMPLETED'
    oracle.end_trial(trial)
  weak = oracle.create_trial('tuner0')
  assert _report(oracle, weak, 1, 0.1).status == 'RUNNING'
  assert _report(oracle, weak, 2, 0.2).status == 'RUNNING'
  answer = _report(oracle, weak, 3, 0.3)
  assert (answer.status == 'STOPPED') is stops
  assert oracle.trials[weak.trial_id].status == 'RUNNING'  # the oracle's own trial is not
  # Epoch reports stay out of Keras Tuner's records of the trial, which would otherwise take
  # the objective as reported by run_trial itself and record no other metric at the end.
  metrics = oracle.trials[weak.trial_id].metrics
  assert not metrics.exists('val_accuracy') and not metrics.exists(
      early_stopping.EPOCH_REPORT)
  state = oracle.get_state()['hypertune']
  assert state['stopped_early'] == ({weak.trial_id: 3} if stops else {})
  assert state['epoch_values'][weak.trial_id] == {'1': 0.1, '2': 0.2, '3': 0.3}


def test_the_reporter_survives_keras_tuners_copy_of_the_callbacks(tmp_path):
  """Keras Tuner deep-copies a trial's callbacks before fit: the copy must still report to
  the tuner's own oracle (a copy of the oracle would take every report and tell nobody)."""
  import copy
  oracle = _oracle(tmp_path, 'median')
  reporter = early_stopping.EpochReporter(oracle, '00', 'val_accuracy')
  (copied,) = copy.deepcopy([reporter])
  assert copied._oracle is oracle
