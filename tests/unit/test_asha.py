"""Asynchronous successive halving (components/tuner/asha.py) on a real Keras Tuner oracle,
with scores given instead of trained: promotions as soon as a trial ranks in the top 1/factor of
its rung, none from a rung too small, the whole plan, a reload that goes on where it stopped,
and the checkpoint hand-over values a promoted trial carries."""

import keras_tuner
import pytest

from tfx_hypertune.components.tuner import asha, brackets, plan


def _oracle(directory, max_epochs=10, factor=3, configurations=None, direction='max'):
  hp = keras_tuner.HyperParameters()
  hp.Int('units', 1, 10_000)
  oracle = asha.ASHAOracle(objective=keras_tuner.Objective('score', direction),
                           max_epochs=max_epochs, factor=factor,
                           max_configurations=configurations, seed=1, hyperparameters=hp)
  oracle._set_project_dir(directory, 'asha')
  return oracle


def _finish(oracle, trial, score=None):
  values = trial.hyperparameters.values
  oracle.update_trial(trial.trial_id, {'score': float(values['units'] if score is None
                                                      else score)})
  trial.status = 'COMPLETED'
  oracle.end_trial(trial)


def test_rungs_are_hyperbands_most_aggressive_bracket():
  assert asha.rung_epochs(10, 3) == [2, 4, 10]
  assert asha.rung_epochs(81, 3) == [1, 3, 9, 27, 81]
  third_bracket = [r for r in brackets.hyperband_plan(10, 3) if r.bracket == 2]
  assert [(r.epochs, r.initial_epoch) for r in third_bracket] == [(2, 0), (4, 2), (10, 4)]


def test_the_default_budget_is_hyperbands_in_epochs():
  assert asha.default_configurations(10, 3) == 36
  assert asha.epochs_spent(36, 10, 3) == asha.hyperband_epochs(10, 3) == 120
  assert asha.planned_trials(36, 10, 3) == 36 + 12 + 4


@pytest.mark.parametrize('direction', ['max', 'min'])
def test_promotion_takes_the_best_of_the_top_fraction_not_yet_promoted(direction):
  rung0 = [{'trial_id': str(i), 'score': float(s), 'rung': 0}
           for i, s in enumerate([5, 9, 1, 7, 3, 8])]
  best, second = ('1', '5') if direction == 'max' else ('2', '4')
  assert asha.promotion([rung0, [], []], set(), 3, direction)['trial_id'] == best
  assert asha.promotion([rung0, [], []], {best}, 3, direction)['trial_id'] == second
  assert asha.promotion([rung0, [], []], {best, second}, 3, direction) is None  # 6 // 3 = 2
  assert asha.promotion([rung0[:2], [], []], set(), 3, direction) is None  # 2 // 3 = 0
  assert asha.promotion([[], [], []], set(), 3, direction) is None  # an empty rung
  # The higher rung first.
  rung1 = [{'trial_id': t, 'score': float(s), 'rung': 1} for t, s in (('a', 1), ('b', 2),
                                                                      ('c', 3))]
  assert asha.promotion([rung0, rung1, []], set(), 3, direction)['rung'] == 1


def test_a_trial_is_promoted_as_soon_as_it_ranks_in_the_top_third(tmp_path):
  """Two finished first-rung trials promote nothing; the third makes one promotable (the best
  of the three), handed out at once, before any new configuration; it continues from its
  parent's checkpoint: tuner/trial_id, initial_epoch = the parent's epochs."""
  oracle = _oracle(str(tmp_path))
  first = [oracle.create_trial(f'tuner{i}') for i in range(3)]
  for trial in first[:2]:
    _finish(oracle, trial)
  fourth = oracle.create_trial('tuner0')
  assert fourth.hyperparameters.values['tuner/round'] == 0  # nothing to promote yet
  _finish(oracle, first[2])
  promoted = oracle.create_trial('tuner1')
  values = promoted.hyperparameters.values
  best = max(first, key=lambda t: t.hyperparameters.values['units'])
  assert values['tuner/trial_id'] == best.trial_id
  assert (values['tuner/round'], values['tuner/initial_epoch'], values['tuner/epochs']) == (
      1, 2, 4)
  assert values['units'] == best.hyperparameters.values['units']
  # Running trials do not block anyone: the next request gets a new configuration.
  assert oracle.create_trial('tuner2').hyperparameters.values['tuner/round'] == 0


def _run(oracle, stop_after=None, tuner_ids=3):
  """Drives the oracle with `tuner_ids` tuners that each finish their trial before asking again
  (round robin); returns the (rung, parent) of every trial in order."""
  order = []
  running = {}
  while True:
    if stop_after is not None and len(order) >= stop_after:
      return order
    for tuner in range(tuner_ids):
      tuner_id = f'tuner{tuner}'
      if tuner_id in running:
        _finish(oracle, running.pop(tuner_id))
      trial = oracle.create_trial(tuner_id)
      if trial.status == 'RUNNING':
        running[tuner_id] = trial
        values = trial.hyperparameters.values
        order.append((values['tuner/round'], values.get('tuner/trial_id')))
    if not running:
      return order


def test_a_search_runs_its_whole_plan_then_stops(tmp_path):
  oracle = _oracle(str(tmp_path), configurations=18)
  order = _run(oracle)
  rungs = [rung for rung, _ in order]
  assert (rungs.count(0), rungs.count(1), rungs.count(2)) == (18, 6, 2)
  assert len(order) == asha.planned_trials(18, 10, 3) == plan.planned_trials(oracle)
  parents = [parent for _, parent in order if parent]
  assert len(parents) == len(set(parents))  # none promoted twice
  assert all(t.status == 'COMPLETED' for t in oracle.trials.values())
  assert oracle.create_trial('tuner9').status == 'STOPPED'


def test_a_reloaded_search_goes_on_where_it_stopped(tmp_path):
  whole = _run(_oracle(str(tmp_path / 'whole'), configurations=18))
  oracle = _oracle(str(tmp_path / 'killed'), configurations=18)
  before = _run(oracle, stop_after=10)
  oracle = _oracle(str(tmp_path / 'killed'), configurations=18)
  oracle.reload()  # what the Tuner does after a crash
  oracle.repair_reload()
  after = _run(oracle)
  rungs = [rung for rung, _ in before + after]
  # Trials left running by the kill ran again; the plan is the same.
  assert (rungs.count(0), rungs.count(1), rungs.count(2)) >= (18, 6, 2)
  assert sum(t.status == 'COMPLETED' for t in oracle.trials.values()) == len(whole)
