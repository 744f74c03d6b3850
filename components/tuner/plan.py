"""How much a search runs: its plan (how many trials, how long each trains) and its budget.

The budget the Tuner component was given (`max_epochs`, `max_trials`: runtime parameters on
Kubeflow) is applied where Keras Tuner makes it public: the oracle's `max_trials`, and the
`epochs` of the search's fit arguments; a Hyperband oracle must be built with its max_epochs,
so a tuner_fn reads it from `fn_args.custom_config` (BUDGET_KEYS). What the search really used
goes into best_hyperparameters.txt (files.BUDGET_FIELD), which a Trainer trains within
(training_epochs).
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, Mapping, Optional

import keras_tuner

from tfx_hypertune.components.tuner import asha, brackets, files, policies, spec

# The budget keys the executor adds to fn_args.custom_config when the component was given
# them, for a tuner_fn that builds its oracle from them.
BUDGET_KEYS = (spec.MAX_EPOCHS_KEY, spec.MAX_TRIALS_KEY)


def trials_in_plan(algorithm: str, max_epochs: int, factor: int = 3,
                   hyperband_iterations: int = 1, max_trials: Optional[int] = None) -> int:
  """Trials a search of these settings runs: Hyperband's plan (either order); ASHA's
  (asha_configurations of them in the first rung); else max_trials."""
  if algorithm in policies.HYPERBAND_ALGORITHMS:
    return brackets.hyperband_trials(max_epochs, factor, hyperband_iterations)
  if algorithm == policies.ASHA:
    return asha.planned_trials(asha_configurations(max_epochs, factor, hyperband_iterations),
                               max_epochs, factor)
  return int(max_trials)


def asha_configurations(max_epochs: int, factor: int, iterations: int = 1) -> int:
  """The configurations an ASHA search of these settings draws: as many as Keras Tuner's
  Hyperband draws in its brackets' first rounds, per iteration (27 for 10 epochs, factor 3)."""
  return asha.default_configurations(max_epochs, factor) * int(iterations)


def planned_trials(oracle) -> Optional[int]:
  """Trials the oracle will run (None: not known): trials_in_plan of its settings, or the
  oracle's own count (ASHA's)."""
  if isinstance(oracle, asha.ASHAOracle):
    return oracle.planned_trials()
  if isinstance(oracle, keras_tuner.oracles.HyperbandOracle):
    iterations = oracle.hyperband_iterations
    return trials_in_plan('hyperband', oracle.max_epochs, oracle.factor,
                          1 if iterations == float('inf') else int(iterations))
  return getattr(oracle, 'max_trials', None)


def final_epochs(oracle) -> Optional[int]:
  """The most epochs a trial of this oracle trains, when trials differ in length (Hyperband:
  `max_epochs`; a trial's own count is its `tuner/epochs`); None when every trial trains as
  long as the others."""
  if isinstance(oracle, (keras_tuner.oracles.HyperbandOracle, asha.ASHAOracle)):
    return int(oracle.max_epochs)
  return None


def budget_of(oracle, fit_kwargs: Mapping[str, Any]) -> Dict[str, Optional[int]]:
  """The budget a search really ran with, for the Trainer (best_hyperparameters.txt)."""
  max_epochs = final_epochs(oracle) or fit_kwargs.get('epochs')
  return {spec.MAX_EPOCHS_KEY: max_epochs, spec.MAX_TRIALS_KEY: getattr(oracle, 'max_trials', None)}


def apply_budget(tuner, fit_kwargs: Dict[str, Any], budget: Mapping[str, Any]) -> Dict[str, Any]:
  """The component's max_epochs / max_trials applied to the tuner tuner_fn built; returns the
  fit_kwargs to search with. A Hyperband oracle must be built with them (its max_epochs shapes
  its brackets when it is made): a mismatch stops in one line rather than search another
  budget than the one asked for."""
  oracle, fit_kwargs = tuner.oracle, dict(fit_kwargs)
  max_epochs, max_trials = (budget.get(key) for key in BUDGET_KEYS)
  if isinstance(oracle, keras_tuner.oracles.HyperbandOracle):
    if max_epochs is not None and oracle.max_epochs != max_epochs:
      raise ValueError(
          f'max_epochs={max_epochs}: the tuner_fn built a Hyperband oracle with max_epochs='
          f'{oracle.max_epochs}; build it from fn_args.custom_config["max_epochs"]')
    return fit_kwargs
  if max_epochs is not None:
    if not takes_argument(tuner.run_trial, 'epochs'):
      raise ValueError(f'max_epochs={max_epochs}: the tuner\'s run_trial takes no epochs '
                       f'argument; size the search in tuner_fn instead')
    fit_kwargs['epochs'] = max_epochs
  if max_trials is not None and hasattr(oracle, 'max_trials'):
    oracle.max_trials = max_trials
  return fit_kwargs


def takes_argument(method, name: str) -> bool:
  parameters = inspect.signature(method).parameters.values()
  return any(p.name == name or p.kind == p.VAR_KEYWORD for p in parameters)


# ---------------------------------------------------------------------------------------------
# What a Trainer reads back (best_hyperparameters.txt).


def training_epochs(hyperparameters_config: Mapping[str, Any],
                    configured: Optional[int] = None) -> int:
  """The most epochs the final model trains (early stopping on eval decides the rest):
  `configured` if set, else the max_epochs the search really used, else what the best trial
  trained up to (Hyperband's `tuner/epochs`; a stock tuner_fn's search may record no budget).

  Not the best trial's own epochs by default: on small eval splits a short Hyperband trial of
  2-4 epochs often ties for the best score, and a final model trained that short underfits
  (moons300 in BENCHMARKS.md "Small tables": 0.8889 -> 1.0000; no table got worse)."""
  budget = hyperparameters_config.get(files.BUDGET_FIELD) or {}
  values = hyperparameters_config.get('values') or {}
  epochs = configured or budget.get(spec.MAX_EPOCHS_KEY) or values.get('tuner/epochs')
  if not epochs:
    raise ValueError('best hyperparameters: no tuner/epochs and no search budget; '
                     'set training.epochs')
  return int(epochs)


def best_epochs(hyperparameters_config: Mapping[str, Any]) -> Optional[int]:
  """The epochs at which the best trial scored its best, if the search recorded it."""
  budget = hyperparameters_config.get(files.BUDGET_FIELD) or {}
  value = budget.get(files.BEST_EPOCHS_KEY)
  return int(value) if value else None
