"""Our hypermodel: network.build_model for the Tuner, with each trial's randomness its own.

Every trial starts from the same random state (its weights' initialisation and dropout: the
config's seed, set when the trial's model is built) and its own shuffled copy of the training
rows (a dataset shared by the trials would give each trial the shuffle orders the trials before
it left). So a trial's result depends on its hyperparameter values, not on which trials ran
before it or how long they trained: the same configuration scores the same in a search after
a resume, and with or without weak trials stopped early. Not bit for bit across thread counts:
a trial process that has one core of a shared machine (parallel workers, Beam slots) sums in
another order than one with two, and training can magnify the last bits (measured: most of a
10-trial search on Beam scored within a point of the same search in one process, one trial
six points apart).
"""

from __future__ import annotations

import functools
from typing import Any

import keras
import keras_tuner

from tfx_hypertune.model import datasets, network, space


class SeededHyperModel(keras_tuner.HyperModel):
  """build_model of our network; each trial seeded, fitted on its own shuffle of the rows."""

  def __init__(self, prepared: datasets.Prepared):
    super().__init__()
    self._build = functools.partial(network.build_model, inputs=prepared.inputs,
                                    space=space.space_by_name(prepared.search['space']))
    self._seed = prepared.seed
    self._rows = prepared.train_rows
    self._batch_size = prepared.batch_size

  def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
    keras.utils.set_random_seed(self._seed)
    return self._build(hp)

  def fit(self, hp, model, *args, **kwargs) -> Any:
    kwargs['x'] = datasets.shuffled(self._rows, self._seed, self._batch_size)
    return model.fit(*args, **kwargs)
