"""Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel
Hyperparameter Tuning", 2020), as a Keras Tuner oracle and tuner.

Trials train in rungs of growing length, `factor` times longer each (Hyperband's most
aggressive bracket: with max_epochs 10 and factor 3, rungs of 2, 4 and 10 epochs). Whenever a
tuner asks for a trial, the oracle promotes, from the highest rung down, a trial that ranks in
the top 1/factor of the trials completed at its rung and has not been promoted yet; else it
draws a new configuration for the first rung, until `max_configurations` have been drawn. A
promoted trial continues from its parent's checkpoint at `initial_epoch` (the `tuner/...`
values Keras Tuner's Hyperband tuner already handles), so no work is thrown away.

Unlike Hyperband (Keras Tuner's oracle), nothing waits for a round to fill: a free worker
always gets a trial while configurations are left, so slots are refilled the moment a trial
ends, on one machine or on a Beam runner. The price is that early promotions are made on fewer
trials; Li et al. show it costs little. When no configuration is left and nothing can be
promoted, the oracle answers IDLE while trials still run (they may make a promotion possible),
then STOPPED.

The rungs are Hyperband's, numbered the same way in a trial's values: `tuner/bracket` 0,
`tuner/round` the rung. All of the oracle's state is its trials (which rung each is in, which it
was promoted from), so a reloaded search goes on where it was.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import keras_tuner

from tfx_hypertune.components.tuner import brackets, keras_tuner_private, oracle_mixin, trials

TrialStatus = trials.TrialStatus


def rung_epochs(max_epochs: int, factor: int) -> List[int]:
  """The epochs a trial of each rung trains up to: Hyperband's most aggressive bracket's
  rounds (max_epochs / factor^k, rounded up, the last max_epochs)."""
  rungs, epochs = 0, float(max_epochs)
  while epochs >= 1:
    epochs /= factor
    rungs += 1
  return [math.ceil(max_epochs / factor ** (rungs - 1 - k)) for k in range(rungs)]


def default_configurations(max_epochs: int, factor: int) -> int:
  """New configurations a search draws by default: the fewest that spend as many epochs as one
  iteration of Keras Tuner's Hyperband of the same max_epochs and factor (36 for 10 epochs and
  factor 3: 120 epochs either way), so that the two compare on one budget."""
  target = hyperband_epochs(max_epochs, factor)
  configurations = 1
  while epochs_spent(configurations, max_epochs, factor) < target:
    configurations += 1
  return configurations


def hyperband_epochs(max_epochs: int, factor: int) -> int:
  """Epochs one iteration of Keras Tuner's Hyperband trains (promoted trials resume their
  parents, so a round trains its epochs beyond the previous round's), by its bracket
  arithmetic (brackets.hyperband_plan)."""
  return sum(r.trials * (r.epochs - r.initial_epoch)
             for r in brackets.hyperband_plan(max_epochs, factor))


def epochs_spent(configurations: int, max_epochs: int, factor: int) -> int:
  """Epochs a complete search of `configurations` trains (a promoted trial resumes its
  parent)."""
  total, count, previous = 0, configurations, 0
  for epochs in rung_epochs(max_epochs, factor):
    total += count * (epochs - previous)
    previous, count = epochs, count // factor
  return total


def planned_trials(max_configurations: int, max_epochs: int, factor: int) -> int:
  """Trials a complete search runs: every configuration in the first rung, and the top
  1/factor of each rung promoted to the next."""
  count, total = max_configurations, 0
  for _ in rung_epochs(max_epochs, factor):
    total += count
    count //= factor
  return total


def promotion(completed_by_rung: List[List[Dict[str, Any]]], promoted: set, factor: int,
              direction: str) -> Optional[Dict[str, Any]]:
  """The trial to promote now, or None: from the highest rung that can promote down, the best
  trial among the top floor(n / factor) of the n trials completed at its rung that has not been
  promoted yet. `completed_by_rung[k]`: the completed trials of rung k, as
  {'trial_id', 'score', 'rung'}; the last rung promotes nowhere. A plain function, so the rule
  is tested apart from any oracle."""
  sign = -1 if direction == 'max' else 1
  for rung in reversed(range(len(completed_by_rung) - 1)):
    ranked = sorted(completed_by_rung[rung], key=lambda t: (sign * t['score'], t['trial_id']))
    for candidate in ranked[:len(ranked) // factor]:
      if candidate['trial_id'] not in promoted:
        return candidate
  return None


class ASHAOracle(oracle_mixin.OracleExtras, keras_tuner.Oracle):
  """Asynchronous successive halving (see the module docstring). `max_configurations`: new
  configurations to draw (default: default_configurations)."""

  def __init__(self, objective=None, max_epochs: int = 100, factor: int = 3,
               max_configurations: Optional[int] = None, seed: Optional[int] = None,
               hyperparameters=None, allow_new_entries: bool = True,
               tune_new_entries: bool = True, max_retries_per_trial: int = 0,
               max_consecutive_failed_trials: int = 3):
    if int(factor) < 2:
      raise ValueError(f'ASHA: factor={factor}: must be an integer of at least 2')
    super().__init__(objective=objective, max_trials=None, hyperparameters=hyperparameters,
                     allow_new_entries=allow_new_entries, tune_new_entries=tune_new_entries,
                     seed=seed, max_retries_per_trial=max_retries_per_trial,
                     max_consecutive_failed_trials=max_consecutive_failed_trials)
    self.max_epochs = int(max_epochs)
    self.factor = int(factor)
    self.rungs = rung_epochs(self.max_epochs, self.factor)
    self.max_configurations = int(max_configurations or default_configurations(
        self.max_epochs, self.factor))

  def planned_trials(self) -> int:
    return planned_trials(self.max_configurations, self.max_epochs, self.factor)

  def populate_space(self, trial_id):
    parent = promotion(self._completed_by_rung(), self._promoted(), self.factor,
                       self.objective.direction)
    if parent is not None:
      rung = parent['rung'] + 1
      values = {**self.trials[parent['trial_id']].hyperparameters.values,
                'tuner/trial_id': parent['trial_id']}
      return {'status': TrialStatus.RUNNING, 'values': self._rung_values(values, rung)}
    if self._configurations_drawn() < self.max_configurations:
      values = keras_tuner_private.random_values(self)
      if values is not None:
        return {'status': TrialStatus.RUNNING, 'values': self._rung_values(values, 0)}
    # Nothing to promote and nothing left to draw: running trials may still make a promotion.
    if any(t.status == TrialStatus.RUNNING for t in self.ongoing_trials.values()):
      return {'status': TrialStatus.IDLE, 'values': None}
    return {'status': TrialStatus.STOPPED, 'values': None}

  def _rung_values(self, values: Dict[str, Any], rung: int) -> Dict[str, Any]:
    return {**{k: v for k, v in values.items() if not k.startswith('tuner/')},
            **({'tuner/trial_id': values['tuner/trial_id']} if 'tuner/trial_id' in values
               else {}),
            'tuner/epochs': self.rungs[rung],
            'tuner/initial_epoch': self.rungs[rung - 1] if rung else 0,
            'tuner/bracket': 0, 'tuner/round': rung}

  def _completed_by_rung(self) -> List[List[Dict[str, Any]]]:
    by_rung: List[List[Dict[str, Any]]] = [[] for _ in self.rungs]
    for trial in self.trials.values():
      rung = trial.hyperparameters.values.get('tuner/round')
      if trials.is_completed(trial.status) and trial.score is not None and rung is not None:
        by_rung[int(rung)].append({'trial_id': trial.trial_id, 'score': trial.score,
                                   'rung': int(rung)})
    return by_rung

  def _promoted(self) -> set:
    """Trials a trial has been promoted from (running, done or failed alike)."""
    return {t.hyperparameters.values['tuner/trial_id'] for t in self.trials.values()
            if 'tuner/trial_id' in t.hyperparameters.values}

  def _configurations_drawn(self) -> int:
    return sum(1 for t in self.trials.values() if t.hyperparameters.values.get('tuner/round') == 0)

  def get_state(self):
    return {**super().get_state(), 'asha': {'max_epochs': self.max_epochs,
                                            'factor': self.factor,
                                            'max_configurations': self.max_configurations}}


class ASHA(keras_tuner.Hyperband):
  """A Keras Tuner tuner searching by asynchronous successive halving, in the shape of
  `keras_tuner.Hyperband`:

      tuner = tfx_hypertune.ASHA(build_model, objective='val_accuracy', max_epochs=10,
                                 factor=3, directory=fn_args.working_dir)

  Keras Tuner's Hyperband tuner over an ASHAOracle: it trains a trial up to its rung's
  `tuner/epochs` from its parent's checkpoint.

  Args:
    hypermodel: A HyperModel, or a function that builds a model from HyperParameters.
    objective: The metric to optimise (a name, or a keras_tuner.Objective).
    max_epochs: The epochs of the last rung.
    factor: How many times longer each rung trains, and 1/factor of a rung is promoted.
    max_configurations: New configurations to draw (default: as many as Hyperband's first
      rounds draw, 27 for max_epochs 10 and factor 3).
    seed: The random seed of the draws.
    hyperparameters, tune_new_entries, allow_new_entries, max_retries_per_trial,
    max_consecutive_failed_trials: as for keras_tuner.Hyperband.
    **kwargs: keras_tuner.Tuner's (directory, project_name, overwrite, ...).
  """

  def __init__(self, hypermodel=None, objective=None, max_epochs: int = 100, factor: int = 3,
               max_configurations: Optional[int] = None, seed: Optional[int] = None,
               hyperparameters=None, tune_new_entries: bool = True,
               allow_new_entries: bool = True, max_retries_per_trial: int = 0,
               max_consecutive_failed_trials: int = 3, **kwargs):
    oracle = ASHAOracle(objective=objective, max_epochs=max_epochs, factor=factor,
                        max_configurations=max_configurations, seed=seed,
                        hyperparameters=hyperparameters, tune_new_entries=tune_new_entries,
                        allow_new_entries=allow_new_entries,
                        max_retries_per_trial=max_retries_per_trial,
                        max_consecutive_failed_trials=max_consecutive_failed_trials)
    keras_tuner_private.init_hyperband_tuner_with(self, oracle, hypermodel, **kwargs)
