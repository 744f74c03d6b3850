"""The search API (components/tuner/search.py): the Hyperband plan against Keras Tuner's own
oracle, the oracle mixin's clock; and the tuner our config builds through it
(model/search_config.py: algorithm, space, budget, callbacks)."""

import collections
import functools

import keras
import keras_tuner
import pytest

from tfx_hypertune.components.tuner import oracle_mixin, plan, search, tuner_mixin
from tfx_hypertune.model import search_config
from tfx_hypertune.model import features, network, space
from tfx_hypertune.pipeline import config as config_lib
from tfx_hypertune.pipeline.pipeline import user_function_config


def _hyperband_oracle(oracle_class, max_epochs, factor, iterations, directory):
  hp = keras_tuner.HyperParameters()
  hp.Int('units', 1, 10_000)
  oracle = oracle_class(
      objective=keras_tuner.Objective('score', 'max'), max_epochs=max_epochs, factor=factor,
      hyperband_iterations=iterations, seed=1, hyperparameters=hp)
  oracle._set_project_dir(directory, 'plan')  # noqa: SLF001
  return oracle


def _oracle_rounds(max_epochs, factor, iterations, directory,
                   oracle_class=keras_tuner.oracles.HyperbandOracle, order=None,
                   stop_after=None):
  """Drives a real Hyperband oracle (no training) and counts trials per (bracket, round);
  `order` collects the (bracket, round) of every trial as it is created. With `stop_after`
  it stops after that many trials, and a later call on the same directory resumes the
  search from the oracle's saved state, as the Tuner does after a crash."""
  oracle = _hyperband_oracle(oracle_class, max_epochs, factor, iterations, directory)
  if order:  # trials were created before in this directory: resume from the saved state
    oracle.reload()
  counts = collections.Counter()
  epochs = {}
  order = [] if order is None else order
  for i in range(len(order), 10_000):
    if stop_after is not None and i >= stop_after:
      break
    trial = oracle.create_trial(f'tuner{i}')
    if trial.status == 'STOPPED':
      break
    values = trial.hyperparameters.values
    key = (values['tuner/bracket'], values['tuner/round'])
    counts[key] += 1
    order.append(key)
    epochs[key] = (values['tuner/initial_epoch'], values['tuner/epochs'])
    oracle.update_trial(trial.trial_id, {'score': float(values['units'])})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
  return counts, epochs


@pytest.mark.parametrize('max_epochs, factor, iterations',
                         [(10, 3, 1), (27, 3, 1), (3, 3, 2), (20, 4, 1), (2, 2, 1)])
def test_hyperband_plan_matches_the_oracle(max_epochs, factor, iterations, tmp_path):
  counts, epochs = _oracle_rounds(max_epochs, factor, iterations, str(tmp_path))
  planned = collections.Counter()
  for r in search.hyperband_plan(max_epochs, factor, iterations):
    planned[(r.bracket, r.round)] += r.trials
    assert epochs[(r.bracket, r.round)] == (r.initial_epoch, r.epochs)
  assert planned == counts


@pytest.mark.parametrize('max_epochs, factor, iterations', [(10, 3, 1), (27, 3, 1), (3, 3, 2)])
def test_longest_first_runs_the_same_plan_in_the_opposite_order(max_epochs, factor, iterations,
                                                                 tmp_path):
  """hyperband_longest_first: Keras Tuner's brackets, rounds, sizes and epochs exactly, but
  the full-length bracket (0) first and the most aggressive one last, in every iteration."""
  stock_order, ours_order = [], []
  stock = _oracle_rounds(max_epochs, factor, iterations, str(tmp_path / 'stock'),
                         order=stock_order)
  ours = _oracle_rounds(max_epochs, factor, iterations, str(tmp_path / 'ours'),
                        search.LongestFirstHyperbandOracle, order=ours_order)
  assert ours == stock  # trials and epochs per (bracket, round)
  brackets = len({bracket for bracket, _ in stock_order})
  per_iteration = len(stock_order) // iterations
  for start in range(0, len(ours_order), per_iteration):
    iteration = ours_order[start:start + per_iteration]
    first_seen = list(dict.fromkeys(bracket for bracket, _ in iteration))
    assert first_seen == list(range(brackets))  # 0, 1, 2: longest trials first
  first = ours_order[0]
  assert first == (0, 0) and stock[1][first] == (0, max_epochs)  # a full-length trial first
  assert stock_order[0] == (brackets - 1, 0)  # Keras Tuner's: the most aggressive first


def test_longest_first_resumes_its_plan_from_the_saved_state(tmp_path):
  """A search killed after 7 of 30 trials: the reloaded oracle (what the Tuner builds when it
  resumes) goes on where it stopped, brackets still longest first, and completes the plan.

  Keras Tuner's own HyperbandOracle runs one trial more than its plan after such a reload: it
  saves oracle.json with the last ended trial still listed as ongoing, and the round that was
  filling gets one extra configuration. Ours saves again once the trial is off the ongoing
  ones (oracle_mixin.end_trial), and runs exactly the plan."""
  rounds = collections.Counter()
  for r in search.hyperband_plan(10, 3, 1):
    rounds[(r.bracket, r.round)] += r.trials
  resumed, stock_resumed = [], []
  for oracle_class, order in ((search.LongestFirstHyperbandOracle, resumed),
                              (keras_tuner.oracles.HyperbandOracle, stock_resumed)):
    directory = str(tmp_path / oracle_class.__name__)
    _oracle_rounds(10, 3, 1, directory, oracle_class, order=order, stop_after=7)  # killed
    assert len(order) == 7
    _oracle_rounds(10, 3, 1, directory, oracle_class, order=order)  # resumed
  done = collections.Counter(resumed)
  assert all(done[key] >= count for key, count in rounds.items())  # every round ran
  assert len(resumed) == sum(rounds.values())
  assert len(stock_resumed) <= sum(rounds.values()) + 1
  assert list(dict.fromkeys(bracket for bracket, _ in resumed)) == [0, 1, 2]


def test_default_budget_is_thirty_trials():
  assert search_config.planned_trials(
      {'algorithm': 'hyperband', 'max_epochs': 10, 'factor': 3, 'hyperband_iterations': 1,
       'max_trials': None}) == 30


def _search(**overrides):
  config = config_lib.build_config({'search': overrides})
  return user_function_config(config, 'test')['search']


INPUTS = features.ModelInputs(numeric_width=8, categorical=(('color_xf', 4),), num_classes=3,
                              labels=('a', 'b', 'c'))


def _hypermodel(settings):
  return functools.partial(network.build_model, inputs=INPUTS,
                           space=space.space_by_name(settings['space']))


def test_make_tuner_builds_configured_hyperband(tmp_path):
  settings = _search(max_epochs=9, factor=4, hyperband_iterations=2)
  tuner = search_config.make_tuner(settings, _hypermodel(settings), str(tmp_path), seed=3)
  assert isinstance(tuner, keras_tuner.Hyperband)
  oracle = tuner.oracle
  # Not the defaults (3, 1): each setting reaches the oracle.
  assert (oracle.max_epochs, oracle.factor, oracle.hyperband_iterations) == (9, 4, 2)
  assert oracle.objective.name == 'val_accuracy' and oracle.objective.direction == 'max'
  assert plan.planned_trials(oracle) == sum(
      r.trials for r in search.hyperband_plan(9, 4, 2))
  tuner.hypermodel.build(oracle.hyperparameters)  # declares the space, as a trial would
  space = {hp.name: hp for hp in oracle.hyperparameters.space}
  assert (space['units_0'].min_value, space['units_0'].max_value, space['units_0'].step) == (
      16, 512, 16)
  assert list(space['learning_rate'].values) == [1e-2, 1e-3, 1e-4]
  assert (space['num_layers'].min_value, space['num_layers'].max_value) == (1, 3)


@pytest.mark.parametrize('algorithm, oracle_class', [
    ('random', keras_tuner.oracles.RandomSearchOracle),
    ('bayesian', keras_tuner.oracles.BayesianOptimizationOracle),
    ('grid', keras_tuner.oracles.GridSearchOracle),
])
def test_make_tuner_other_algorithms(tmp_path, algorithm, oracle_class):
  settings = _search(algorithm=algorithm, max_trials=7)
  tuner = search_config.make_tuner(settings, _hypermodel(settings), str(tmp_path), seed=3)
  assert isinstance(tuner.oracle, oracle_class)
  assert tuner.oracle.max_trials == 7


def test_search_callbacks_stop_early_on_val_loss():
  (callback,) = search_config.search_callbacks(_search(early_stopping_patience=4))
  assert isinstance(callback, keras.callbacks.EarlyStopping)
  assert (callback.monitor, callback.patience) == ('val_loss', 4)


def test_search_begin_freezes_existing_objects_out_of_gc(tmp_path):
  """Keras Tuner's clear_session() before each trial runs gc.collect(); objects alive when
  the search begins are frozen so that those collections skip them (bench/search_efficiency)."""
  import gc
  settings = _search(algorithm='random', max_trials=1)
  tuner = search_config.make_tuner(settings, _hypermodel(settings), str(tmp_path), seed=3)
  gc.unfreeze()
  try:
    tuner.on_search_begin()
    assert gc.get_freeze_count() > 1000
  finally:
    gc.unfreeze()


@pytest.mark.parametrize('objective, direction', [('val_accuracy', 'max'), ('val_loss', 'min')])
def test_the_objective_and_its_direction_reach_the_oracle(tmp_path, objective, direction):
  settings = _search(algorithm='random', max_trials=2, objective=objective)
  tuner = search_config.make_tuner(settings, _hypermodel(settings), str(tmp_path), seed=3)
  assert (tuner.oracle.objective.name, tuner.oracle.objective.direction) == (objective,
                                                                              direction)


def test_a_worker_pauses_only_after_a_request_that_got_no_trial(tmp_path, monkeypatch):
  """BaseTuner.search asks again at once after an IDLE answer; ours waits IDLE_PAUSE_SECONDS
  first, and never before the request that follows a trial."""
  settings = _search(algorithm='random', max_trials=3)
  tuner = search_config.make_tuner(settings, _hypermodel(settings), str(tmp_path), seed=3)
  pauses = []
  monkeypatch.setattr(tuner_mixin.time, 'sleep', pauses.append)
  tuner.pre_create_trial()  # the first request
  assert pauses == []
  tuner.pre_create_trial()  # the previous request started no trial (IDLE)
  tuner.pre_create_trial()
  assert pauses == [tuner_mixin.IDLE_PAUSE_SECONDS] * 2
  tuner.on_trial_begin(tuner.oracle.create_trial(tuner.tuner_id))
  tuner.pre_create_trial()  # after a trial: ask at once
  assert pauses == [tuner_mixin.IDLE_PAUSE_SECONDS] * 2


def test_conditional_spaces_go_to_proto_without_printing(capsys):
  """keras-tuner 1.4.8's Parent.to_proto prints its first value (a debug print); a parallel
  chief and its workers call it for every message about a conditional space."""
  from keras_tuner.src.engine import conditions
  conditions.Parent('num_layers', [2, 3]).to_proto()
  assert capsys.readouterr().out == ''


def test_the_clock_stops_new_trials_and_leaves_the_plan_resumable(tmp_path, monkeypatch):
  """The oracle mixin's clock on a real Hyperband oracle with a fake wall clock: a trial
  starts only while the longest trial so far would end before the deadline; a stopped
  search has no half-planned trial, and the same oracle with a later deadline goes on with
  Hyperband's plan, the durations kept through its saved state."""
  now = [1000.0]
  monkeypatch.setattr(oracle_mixin.time, 'time', lambda: now[0])
  oracle = _hyperband_oracle(search.HyperbandOracle, 3, 3, 1, str(tmp_path))

  def run_one(seconds):
    trial = oracle.create_trial('tuner0')
    if trial.status != 'RUNNING':
      return trial.status
    now[0] += seconds
    oracle.update_trial(trial.trial_id, {'score': float(trial.hyperparameters.values['units'])})
    trial.status = 'COMPLETED'
    oracle.end_trial(trial)
    return trial.status

  oracle.start_clock(100)
  assert run_one(30) == 'COMPLETED'   # 70 s left, the longest so far 30 s
  assert run_one(50) == 'COMPLETED'   # 40 s left: 30 s fits
  assert run_one(10) == 'STOPPED'     # 30 s left, the longest so far 50 s: it would overrun
  assert oracle.stopped_by_clock and len(oracle.trials) == 2
  assert sorted(oracle.get_state()['hypertune']['trial_seconds'].values()) == [30.0, 50.0]

  again = _hyperband_oracle(search.HyperbandOracle, 3, 3, 1, str(tmp_path))
  again.reload()  # a later run: the saved state, durations included
  assert again.expected_trial_seconds() == 50.0
  oracle = again
  oracle.start_clock(None)
  statuses = [run_one(1) for _ in range(10)]
  # The rest of the plan, exactly as Keras Tuner's own Hyperband goes on after a reload at the
  # same point with no clock at all (it re-plans the bracket in progress).
  order = []
  _oracle_rounds(3, 3, 1, str(tmp_path / 'no-clock'), oracle_class=search.HyperbandOracle,
                 order=order, stop_after=2)
  resumed, _ = _oracle_rounds(3, 3, 1, str(tmp_path / 'no-clock'),
                              oracle_class=search.HyperbandOracle, order=order)
  rest = sum(resumed.values())
  assert statuses == ['COMPLETED'] * rest + ['STOPPED'] * (10 - rest)
