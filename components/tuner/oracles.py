"""The search API a tuner_fn may build its Keras Tuner with: Keras Tuner's oracles with what the
Tuner adds to any oracle (oracle_mixin.OracleExtras) already in them, one more Hyperband order,
and a tuner that runs any of them.

    make_oracle(algorithm, objective, ...)     an oracle by name (policies.ALGORITHMS)
    make_tuner(oracle, hypermodel, directory)  a SearchTuner over it

A tuner_fn does not need these: the executor instruments whatever Keras Tuner tuner it gets.
"""

from __future__ import annotations

from typing import Any, Optional

import keras_tuner

from tfx_hypertune.components.tuner import (asha, files, keras_tuner_private, oracle_mixin,
                                            plan, policies)
from tfx_hypertune.components.tuner import tuner_mixin

keras_tuner_private.silence_parent_to_proto_print()


class HyperbandOracle(oracle_mixin.OracleExtras, keras_tuner.oracles.HyperbandOracle):
  pass


class LongestFirstHyperbandOracle(keras_tuner_private.MirroredBrackets, HyperbandOracle):
  """Hyperband with its brackets in the opposite order: the bracket of full-length trials
  first, the most aggressive one (many short trials, successive halving) last.

  Keras Tuner starts with the most aggressive bracket, so a good configuration is not trained
  to max_epochs until about half-way through the search; random search trains every trial to
  full length and reaches a good model sooner on cheap problems (BENCHMARKS.md, "Search
  efficiency"). Hyperband's brackets are independent, so their order changes when good
  models appear, not which trials run: the same brackets, rounds, sizes and epochs.

  Done by mirroring Keras Tuner's bracket number (it counts down from the most aggressive
  bracket), through its private bracket methods (keras_tuner_private.MirroredBrackets).
  """


class RandomSearchOracle(oracle_mixin.OracleExtras, keras_tuner.oracles.RandomSearchOracle):
  pass


class BayesianOptimizationOracle(oracle_mixin.OracleExtras,
                                 keras_tuner.oracles.BayesianOptimizationOracle):
  pass


class GridSearchOracle(oracle_mixin.OracleExtras, keras_tuner.oracles.GridSearchOracle):
  """Grid search tries every configuration anyway: it takes no queue (accepts_queue)."""


def make_oracle(algorithm: str, objective: Any, *, max_epochs: int, factor: int = 3,
                hyperband_iterations: int = 1, max_trials: Optional[int] = None,
                seed: Optional[int] = None) -> keras_tuner.Oracle:
  """The oracle of one of policies.ALGORITHMS. `objective`: a metric name (Keras Tuner infers
  its direction) or a keras_tuner.Objective."""
  if algorithm == policies.ASHA:
    return asha.ASHAOracle(objective=objective, max_epochs=max_epochs, factor=factor, seed=seed,
                           max_configurations=plan.asha_configurations(max_epochs, factor,
                                                                       hyperband_iterations))
  if algorithm in policies.HYPERBAND_ALGORITHMS:
    oracle_class = (HyperbandOracle if algorithm == 'hyperband'
                    else LongestFirstHyperbandOracle)
    return oracle_class(objective=objective, max_epochs=max_epochs, factor=factor,
                        hyperband_iterations=hyperband_iterations, seed=seed)
  oracle_class = {'random': RandomSearchOracle, 'bayesian': BayesianOptimizationOracle,
                  'grid': GridSearchOracle}.get(algorithm)
  if oracle_class is None:
    raise ValueError(f'algorithm {algorithm!r}: choose one of {", ".join(policies.ALGORITHMS)}')
  return oracle_class(objective=objective, max_trials=max_trials, seed=seed)


class SearchTuner(tuner_mixin.InstrumentedTuner, keras_tuner.Hyperband):
  """One tuner for every oracle, with what the executor gives any tuner (tuner_mixin.py).

  Keras Tuner's Hyperband tuner adds two things to the base Tuner, both keyed on the
  `tuner/...` values only a successive-halving oracle sets, so inert under the others: a trial
  trains up to `tuner/epochs`, resuming its parent trial's checkpoint.
  """

  def __init__(self, oracle: keras_tuner.Oracle, hypermodel, **kwargs):
    # keras_tuner.Hyperband.__init__ only builds a HyperbandOracle; ours comes built.
    keras_tuner_private.init_hyperband_tuner_with(self, oracle, hypermodel, **kwargs)


def make_tuner(oracle: keras_tuner.Oracle, hypermodel, directory: str) -> SearchTuner:
  """A SearchTuner writing its trials under `directory` (files.TRIALS_PROJECT), resuming what
  it finds there."""
  return SearchTuner(oracle, hypermodel, directory=directory,
                     project_name=files.TRIALS_PROJECT, overwrite=False)
