"""Which trial the Trainer gets (components/tuner/selection.py), on plain candidates."""

import pytest

from tfx_hypertune.components.tuner import selection
from tfx_hypertune.components.tuner.selection import Candidate

# Best first, as spec.best_first orders them (val_accuracy: higher is better).
TRIALS = [
    Candidate('28', 0.980, True, trainable_parameters=48_000, seconds_per_epoch=0.30),
    Candidate('03', 0.979, False, trainable_parameters=1_000, seconds_per_epoch=0.05),  # short
    Candidate('17', 0.977, True, trainable_parameters=15_000, seconds_per_epoch=0.20),
    Candidate('09', 0.976, True, trainable_parameters=12_000, seconds_per_epoch=0.10),
    Candidate('11', 0.950, True, trainable_parameters=2_000, seconds_per_epoch=0.04),
]


def test_best_is_the_first_trial():
  choice = selection.choose(TRIALS, 'max')
  assert (choice.trial_id, choice.best_trial_id, choice.rule) == ('28', '28', 'best')


def test_smallest_within_takes_the_fewest_parameters_of_full_length_trials_near_the_best():
  choice = selection.choose(TRIALS, 'max', 'smallest_within', 0.0035)
  # 03 is smaller and closer but trained fewer epochs; 09 is 0.004 below; 11 is far below.
  assert choice.trial_id == '17'
  assert choice.reason == ('trial 17: 3.2x fewer parameters, 0.003 below the best trial 28 '
                           '(smallest_within 0.0035)')
  assert selection.choose(TRIALS, 'max', 'smallest_within', 0.005).trial_id == '09'


def test_fastest_within_takes_the_fewest_seconds_per_epoch():
  choice = selection.choose(TRIALS, 'max', 'fastest_within', 0.05)
  assert choice.trial_id == '11' and '7.5x less time per epoch' in choice.reason


def test_a_lower_is_better_objective_counts_the_tolerance_upwards():
  losses = [Candidate('1', 0.10, True, 900), Candidate('2', 0.12, True, 100),
            Candidate('3', 0.20, True, 10)]
  assert selection.choose(losses, 'min', 'smallest_within', 0.05).trial_id == '2'


def test_without_sizes_the_best_is_kept_and_the_reason_says_why():
  unknown = [Candidate('1', 0.9, True), Candidate('2', 0.89, True)]
  choice = selection.choose(unknown, 'max', 'smallest_within', 0.1)
  assert choice.trial_id == '1' and 'no trial trained to the final epoch count' in choice.reason


@pytest.mark.parametrize('rule, tolerance, message', [
    ('smallest', 0.0, "select='smallest': choose one of best, smallest_within"),
    ('smallest_within', -1, 'select_tolerance=-1: must be 0 or more'),
])
def test_bad_parameters_name_themselves(rule, tolerance, message):
  with pytest.raises(ValueError, match=message):
    selection.choose(TRIALS, 'max', rule, tolerance)


def test_the_pareto_front_keeps_only_trials_no_cheaper_trial_beats():
  from tfx_hypertune.components.tuner import report
  rows = [{'trial_id': i, 'val_accuracy': acc, 'trainable_parameters': size}
          for i, acc, size in [('a', 0.90, 100), ('b', 0.89, 200), ('c', 0.95, 300),
                               ('d', 0.95, 400), ('e', 0.97, 5000), ('f', None, 50),
                               ('g', 0.99, None)]]
  accuracy = report.Metric('val_accuracy', higher_is_better=True)
  assert [r['trial_id'] for r in report.pareto_front(rows, 'trainable_parameters', accuracy)] == [
      'a', 'c', 'e']
  loss = report.Metric('val_accuracy', higher_is_better=False)  # the same numbers read as a loss
  assert [r['trial_id'] for r in report.pareto_front(rows, 'trainable_parameters', loss)] == [
      'a', 'b']
