"""Our tuner_fn's search, from the search section of our config (fn_args.custom_config['search']):
the oracle the section names, built through the platform's search API, and the fit arguments
(early stopping) our model trains with in the search and in the Trainer.

`search` is the config's search section as a dict (algorithm, objective, max_epochs, factor,
hyperband_iterations, max_trials, early_stopping_patience, batch_size, space, ...).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

import keras

from tfx_hypertune.components.tuner import search as search_api
from tfx_hypertune.model import objectives


def search_settings(custom_config: Mapping[str, Any]) -> Dict[str, Any]:
  """custom_config['search'] with the budget the Tuner component was given (max_epochs,
  max_trials: runtime parameters on Kubeflow), which its executor adds to custom_config."""
  budget = {key: custom_config[key] for key in search_api.BUDGET_KEYS
            if custom_config.get(key) is not None}
  return {**custom_config['search'], **budget}


def planned_trials(search: Mapping[str, Any]) -> int:
  """Trials the configured search runs."""
  return search_api.trials_in_plan(search['algorithm'], search['max_epochs'],
                                   search['factor'], search['hyperband_iterations'],
                                   search['max_trials'])


def make_tuner(search: Mapping[str, Any], hypermodel, directory: str, seed: int,
               objective: Optional[Any] = None) -> search_api.SearchTuner:
  """A tuner of the configured algorithm, writing its trials under `directory`. The
  objective's name only: Keras Tuner infers its direction (val_accuracy and val_auc up,
  val_loss down); a metric it cannot infer comes as a keras_tuner.Objective (`objective`)."""
  oracle = search_api.make_oracle(
      search['algorithm'], objective or search['objective'], max_epochs=search['max_epochs'],
      factor=search['factor'], hyperband_iterations=search['hyperband_iterations'],
      max_trials=search['max_trials'], seed=seed)
  return search_api.make_tuner(oracle, hypermodel, directory)


def early_stopping(search: Mapping[str, Any],
                   restore_best_weights: bool = False) -> keras.callbacks.Callback:
  """The one stopping rule of trials and of the final training: no better value for
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
  return objective if objective in objectives.BALANCED_OBJECTIVES else 'val_loss'


def search_callbacks(search: Mapping[str, Any]) -> List[keras.callbacks.Callback]:
  return [early_stopping(search)]


def fit_kwargs(search: Mapping[str, Any], train, validation,
               class_weight: Optional[Dict[int, float]] = None) -> Dict[str, Any]:
  """The arguments of tuner.search(): a successive-halving oracle sets each trial's epochs."""
  kwargs = {'x': train, 'validation_data': validation,
            'callbacks': search_callbacks(search), 'verbose': 0}
  if class_weight:
    kwargs['class_weight'] = class_weight
  if search['algorithm'] not in search_api.SUCCESSIVE_HALVING_ALGORITHMS:
    kwargs['epochs'] = search['max_epochs']
  return kwargs
