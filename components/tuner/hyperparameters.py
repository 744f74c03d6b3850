"""Hyperparameter values as a trial's model used them."""

from __future__ import annotations

from typing import Any, Dict, Mapping

import keras_tuner

# Keras Tuner's bookkeeping values (Hyperband's `tuner/epochs`, `tuner/trial_id`, ...).
BOOKKEEPING_PREFIX = 'tuner/'


def active_values(hyperparameters: keras_tuner.HyperParameters) -> Dict[str, Any]:
  """The values the model actually used: active under their conditions (Keras Tuner's
  conditional scopes), without Keras Tuner's `tuner/...` bookkeeping."""
  return {name: value for name, value in hyperparameters.values.items()
          if not name.startswith(BOOKKEEPING_PREFIX) and _is_active(hyperparameters, name)}


def active_values_of_config(config: Mapping[str, Any]) -> Dict[str, Any]:
  """active_values of a HyperParameters.get_config() dict (trial.json, the Tuner's output)."""
  return active_values(keras_tuner.HyperParameters.from_config(dict(config)))


def _is_active(hyperparameters: keras_tuner.HyperParameters, name: str) -> bool:
  try:
    return hyperparameters.is_active(name)
  except (KeyError, ValueError):  # a value without a declared hyperparameter: keep it
    return True
