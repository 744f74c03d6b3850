"""Trials on Beam without Beam: the driver's batches (beam_trials.next_batch) and the worker's
one-trial oracle (one_trial.OneTrialOracle) around real Keras Tuner oracles, with scores
given instead of trained (the e2e tests train)."""

import keras_tuner
import pytest
from apache_beam.options import pipeline_options
from keras_tuner.engine import trial as trial_module

from tfx_hypertune.components.tuner import beam_trials, one_trial, outcome, plan, spec


def _oracle(oracle_class, directory, **kwargs):
  hp = keras_tuner.HyperParameters()
  hp.Int('units', 1, 10_000)
  oracle = oracle_class(objective=keras_tuner.Objective('score', 'max'), seed=1,
                        hyperparameters=hp, **kwargs)
  oracle._set_project_dir(directory, 'plan')  # noqa: SLF001
  return oracle


def _run_on_a_worker(trial, score, project_dir, status='COMPLETED'):
  """What a worker does with a trial it is handed, as Keras Tuner's search loop would
  drive its oracle; returns the result the driver replays."""
  handed = trial_module.Trial.from_state(trial.get_state())  # as it travels to the worker
  oracle = one_trial.OneTrialOracle(_oracle(keras_tuner.oracles.RandomSearchOracle,
                                            project_dir, max_trials=1), handed, project_dir)
  assert oracle.create_trial('beam0') is handed
  oracle.update_trial(handed.trial_id, {'score': score}, step=0)
  assert oracle.get_trial(handed.trial_id).metrics.exists('score')
  handed.status = status
  oracle.end_trial(handed)
  assert oracle.create_trial('beam0').status == 'STOPPED'  # one trial, then the search ends
  return one_trial.result_of(oracle)


@pytest.mark.parametrize('batch_size', [1, 2, 5])
def test_hyperband_in_batches_runs_its_whole_plan(tmp_path, batch_size):
  """Batches end where Hyperband answers IDLE (a round waits for its parents): however many
  trials a batch may hold, the search runs exactly the plan, and each promoted trial's parent
  had completed in an earlier batch."""
  oracle = _oracle(keras_tuner.oracles.HyperbandOracle, str(tmp_path), max_epochs=9, factor=3,
                   hyperband_iterations=1)
  finished, sizes = set(), []
  while True:
    batch = beam_trials.next_batch(oracle, batch_size)
    if not batch:
      break
    sizes.append(len(batch))
    for trial in batch:
      parent = trial.hyperparameters.values.get('tuner/trial_id')
      assert parent is None or parent in finished
      one_trial.replay(oracle, trial, _run_on_a_worker(
          trial, float(trial.hyperparameters.get('units')), str(tmp_path)))
    finished |= {t.trial_id for t in batch}
  assert len(finished) == plan.hyperband_trials(9, 3)
  assert max(sizes) <= batch_size
  assert all(t.status == 'COMPLETED' and t.score is not None for t in oracle.trials.values())


@pytest.mark.parametrize('oracle_class, kwargs, trials', [
    (keras_tuner.oracles.RandomSearchOracle, {'max_trials': 7}, 7),
    (keras_tuner.oracles.BayesianOptimizationOracle, {'max_trials': 7, 'num_initial_points': 2},
     7),
])
def test_random_and_bayesian_in_batches_run_max_trials(tmp_path, oracle_class, kwargs, trials):
  oracle = _oracle(oracle_class, str(tmp_path), **kwargs)
  sizes = []
  while True:
    batch = beam_trials.next_batch(oracle, 3)
    if not batch:
      break
    sizes.append(len(batch))
    for trial in batch:
      one_trial.replay(oracle, trial, _run_on_a_worker(
          trial, float(trial.hyperparameters.get('units')), str(tmp_path)))
  assert sum(sizes) == trials and max(sizes) == 3
  assert all(t.status == 'COMPLETED' for t in oracle.trials.values())


def test_grid_in_batches_runs_every_configuration_once(tmp_path):
  hp = keras_tuner.HyperParameters()
  hp.Choice('units', [8, 16, 32])
  hp.Choice('rate', [0.1, 0.01])
  oracle = keras_tuner.oracles.GridSearchOracle(
      objective=keras_tuner.Objective('score', 'max'), hyperparameters=hp)
  oracle._set_project_dir(str(tmp_path), 'grid')  # noqa: SLF001
  seen = []
  while True:
    batch = beam_trials.next_batch(oracle, 4)
    if not batch:
      break
    for trial in batch:
      seen.append((trial.hyperparameters.get('units'), trial.hyperparameters.get('rate')))
      one_trial.replay(oracle, trial, _run_on_a_worker(trial, 1.0, str(tmp_path)))
  assert sorted(seen) == sorted((u, r) for u in (8, 16, 32) for r in (0.1, 0.01))


def test_a_failed_or_missing_result_ends_the_trial_failed_and_the_search_goes_on(tmp_path):
  oracle = _oracle(keras_tuner.oracles.RandomSearchOracle, str(tmp_path), max_trials=3)
  first, second = beam_trials.next_batch(oracle, 2)
  one_trial.replay(oracle, first, _run_on_a_worker(first, 1.0, str(tmp_path), 'FAILED'))
  record = {'pipeline_attempts': 2, 'pipeline_errors': ['RuntimeError: worker lost']}
  one_trial.replay(oracle, second, beam_trials.missing_result(record))
  assert oracle.trials[first.trial_id].status == 'FAILED'
  assert 'worker lost' in oracle.trials[second.trial_id].message
  (third,) = beam_trials.next_batch(oracle, 2)  # the third of max_trials=3
  assert third.status == 'RUNNING'
  assert [t['trial_id'] for t in outcome.failed_trials(oracle)] == sorted(
      [first.trial_id, second.trial_id])


@pytest.mark.parametrize('args, per_machine', [
    ([], 1),
    (['--direct_running_mode=multi_processing', '--direct_num_workers=3'], 3),
    (['--direct_running_mode=in_memory', '--direct_num_workers=3'], 1),
    (['--runner=DataflowRunner', '--direct_num_workers=3'], 1),
])
def test_trials_sharing_a_machine(args, per_machine):
  options = pipeline_options.PipelineOptions(args)
  assert beam_trials.trials_per_machine(options) == per_machine


def test_an_unknown_place_for_trials_is_refused():
  with pytest.raises(ValueError, match="trials_on='cluster': choose one of local, beam"):
    spec.trials_location({'trials_on': 'cluster'})
  assert spec.trials_location({}) == 'local'
