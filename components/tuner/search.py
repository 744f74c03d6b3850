"""The search API: what the model code's `tuner_fn` builds its Keras Tuner with.

This is the one module of the platform that the model code imports. It offers

    search_settings(custom_config)                    the search section, budget applied
    make_tuner(search, hypermodel, directory, seed)   a SearchTuner for search['algorithm']
    search_callbacks(search)                          EarlyStopping as the config says
    planned_trials(search), hyperband_plan(...)       how many trials a search will run
    active_values(hyperparameters)                    values without Keras Tuner bookkeeping
    training_epochs(hyperparameters_config, epochs)   what the Trainer trains for

`search` is the config's search section as a dict (algorithm, objective, max_epochs, factor,
hyperband_iterations, max_trials, early_stopping_patience, ...).

Keras Tuner is extended through its public hooks (instrument.py: `Tuner.run_trial`, the trial
and search callbacks, `Oracle.populate_space`, `get_state` / `set_state`, `save`), and where
there is none through keras_tuner_private.py, which names each private part it uses.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

import keras
import keras_tuner

from tfx_hypertune.components import class_balance
from tfx_hypertune.components.tuner import instrument, keras_tuner_private, spec
from tfx_hypertune.components.tuner.instrument import (  # pylint: disable=unused-import
    HyperbandRound, active_values, hyperband_plan)

keras_tuner_private.silence_parent_to_proto_print()

# ---------------------------------------------------------------------------------------------
# The plan: how many trials a search runs.


HYPERBAND_ALGORITHMS = ('hyperband', 'hyperband_longest_first')


def planned_trials(search: Mapping[str, Any]) -> int:
  """Trials the configured search runs: Hyperband's plan (either order), else max_trials."""
  if search['algorithm'] in HYPERBAND_ALGORITHMS:
    return sum(r.trials for r in hyperband_plan(
        search['max_epochs'], search['factor'], search['hyperband_iterations']))
  return search['max_trials']


# ---------------------------------------------------------------------------------------------
# Hyperparameter values.


def search_settings(custom_config: Mapping[str, Any]) -> Dict[str, Any]:
  """custom_config['search'] with the budget the Tuner component was given (max_epochs,
  max_trials: runtime parameters on Kubeflow), which the executor adds to custom_config."""
  budget = {key: custom_config[key] for key in instrument.BUDGET_KEYS
            if custom_config.get(key) is not None}
  return {**custom_config['search'], **budget}


def active_values_of_config(config: Mapping[str, Any]) -> Dict[str, Any]:
  """active_values of a HyperParameters.get_config() dict (trial.json, the Tuner's output)."""
  return active_values(keras_tuner.HyperParameters.from_config(dict(config)))


def training_epochs(hyperparameters_config: Mapping[str, Any],
                    configured: Optional[int] = None) -> int:
  """The most epochs the final model trains (early stopping on eval decides the rest):
  `configured` if set, else the max_epochs the search really used, else what the best trial
  trained up to (Hyperband's `tuner/epochs`; a stock tuner_fn's search may record no budget).

  Not the best trial's own epochs by default: on small eval splits a short Hyperband trial of
  2-4 epochs often ties for the best score, and a final model trained that short underfits
  (moons300 in BENCHMARKS.md "Small tables": 0.8889 -> 1.0000; no table got worse)."""
  budget = hyperparameters_config.get(spec.BUDGET_FIELD) or {}
  values = hyperparameters_config.get('values') or {}
  epochs = configured or budget.get(spec.MAX_EPOCHS_KEY) or values.get('tuner/epochs')
  if not epochs:
    raise ValueError('best hyperparameters: no tuner/epochs and no search budget; '
                     'set training.epochs')
  return int(epochs)


def best_epochs(hyperparameters_config: Mapping[str, Any]) -> Optional[int]:
  """The epochs at which the best trial scored its best, if the search recorded it."""
  budget = hyperparameters_config.get(spec.BUDGET_FIELD) or {}
  value = budget.get(spec.BEST_EPOCHS_KEY)
  return int(value) if value else None


# ---------------------------------------------------------------------------------------------
# Oracles: Keras Tuner's four, able to serve queued configurations first (warm start).


class HyperbandOracle(instrument.OracleExtras, keras_tuner.oracles.HyperbandOracle):
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


class RandomSearchOracle(instrument.OracleExtras, keras_tuner.oracles.RandomSearchOracle):
  pass


class BayesianOptimizationOracle(instrument.OracleExtras, keras_tuner.oracles.BayesianOptimizationOracle):
  pass


class GridSearchOracle(instrument.OracleExtras, keras_tuner.oracles.GridSearchOracle):
  """Grid search tries every configuration anyway: it takes no queue (accepts_queue)."""


def make_oracle(search: Mapping[str, Any], seed: int,
                objective: Optional[Any] = None) -> keras_tuner.Oracle:
  # The objective's name only: Keras Tuner infers its direction (val_accuracy and val_auc up,
  # val_loss and val_mean_absolute_error down), the one rule the executor, report and warm
  # start then read back from oracle.objective. A metric it cannot infer comes as a
  # keras_tuner.Objective from the model code that defines the metric (`objective`).
  objective = objective or search['objective']
  if search['algorithm'] in HYPERBAND_ALGORITHMS:
    oracle_class = (HyperbandOracle if search['algorithm'] == 'hyperband'
                    else LongestFirstHyperbandOracle)
    return oracle_class(objective=objective, max_epochs=search['max_epochs'],
                        factor=search['factor'],
                        hyperband_iterations=search['hyperband_iterations'], seed=seed)
  oracle_class = {'random': RandomSearchOracle, 'bayesian': BayesianOptimizationOracle,
                  'grid': GridSearchOracle}[search['algorithm']]
  return oracle_class(objective=objective, max_trials=search['max_trials'], seed=seed)


# ---------------------------------------------------------------------------------------------
# The tuner.


class SearchTuner(instrument.Instrumented, keras_tuner.Hyperband):
  """One tuner for every oracle, with what the executor gives any tuner (instrument.py).

  Keras Tuner's Hyperband tuner adds two things to the base Tuner, both keyed on the
  `tuner/...` values only a Hyperband oracle sets, so inert under the other oracles: a round
  trains up to `tuner/epochs`, resuming its parent trial's checkpoint.
  """

  def __init__(self, oracle: keras_tuner.Oracle, hypermodel, **kwargs):
    # keras_tuner.Hyperband.__init__ only builds a HyperbandOracle; ours comes built.
    keras_tuner_private.init_hyperband_tuner_with(self, oracle, hypermodel, **kwargs)


def make_tuner(search: Mapping[str, Any], hypermodel, directory: str, seed: int,
               objective: Optional[Any] = None) -> SearchTuner:
  """A tuner of the configured algorithm, writing its trials under `directory`."""
  return SearchTuner(make_oracle(search, seed, objective), hypermodel, directory=directory,
                     project_name=spec.TRIALS_PROJECT, overwrite=False)


def early_stopping(search: Mapping[str, Any],
                   restore_best_weights: bool = False) -> keras.callbacks.Callback:
  """The one stopping rule of trials and of the final training: no better val_loss for
  `early_stopping_patience` epochs. The Trainer restores the best epoch's weights; a trial
  keeps its last (Keras Tuner scores it by its best epoch anyway)."""
  return keras.callbacks.EarlyStopping(monitor=early_stopping_monitor(search),
                                       patience=search['early_stopping_patience'],
                                       restore_best_weights=restore_best_weights)


def early_stopping_monitor(search: Mapping[str, Any]) -> str:
  """val_loss, or the objective when it is one chosen for imbalanced labels: with class weights
  the training loss is weighted and val_loss is not, so val_loss can rise while the minority
  class is being learned."""
  objective = search.get('objective')
  return objective if objective in class_balance.BALANCED_OBJECTIVES else 'val_loss'


def search_callbacks(search: Mapping[str, Any]) -> List[keras.callbacks.Callback]:
  return [early_stopping(search)]


def fit_kwargs(search: Mapping[str, Any], train, validation,
               class_weight: Optional[Dict[int, float]] = None) -> Dict[str, Any]:
  """The arguments of tuner.search(): Hyperband sets each round's epochs itself."""
  kwargs = {'x': train, 'validation_data': validation,
            'callbacks': search_callbacks(search), 'verbose': 0}
  if class_weight:
    kwargs['class_weight'] = class_weight
  if search['algorithm'] not in HYPERBAND_ALGORITHMS:
    kwargs['epochs'] = search['max_epochs']
  return kwargs
