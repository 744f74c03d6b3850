"""tuner_fn: the Keras Tuner search over `network.build_model`, configured entirely from the
pipeline config (the Tuner component passes its search section in `fn_args.custom_config`).

The oracle and the fit arguments come from our config's search section (search_config.py,
through the platform's search API); this module says only what is searched.
"""

from __future__ import annotations

from tfx.components.tuner.component import TunerFnResult

from tfx_hypertune.model import datasets, metrics, search_config
from tfx_hypertune.model import hypermodel as hypermodel_lib


def tuner_fn(fn_args) -> TunerFnResult:
  """Builds the tuner and the search arguments (TFX Tuner's user function)."""
  prepared = datasets.prepare(fn_args)
  search = prepared.search
  hypermodel = hypermodel_lib.SeededHyperModel(prepared)
  if not prepared.inputs.is_regression:
    metrics.check_objective(search['objective'], prepared.inputs.num_classes)
  tuner = search_config.make_tuner(search, hypermodel, fn_args.working_dir, prepared.seed,
                                   objective=metrics.objective(search['objective']))
  return TunerFnResult(tuner=tuner, fit_kwargs=search_config.fit_kwargs(
      search, prepared.train, prepared.eval, prepared.class_weight))
