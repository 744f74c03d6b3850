"""tfx-hypertune: hyperparameter search inside a production TFX pipeline.

    from tfx_hypertune import Tuner      # a drop-in for tfx.components.Tuner
    from tfx_hypertune import ASHA       # asynchronous successive halving, for a tuner_fn

The public API: `Tuner` (tfx_hypertune.components.tuner.component.Tuner; its docstring lists
every argument and what it adds to the stock one), `TunerFnResult` (the stock one), and `ASHA`
(tfx_hypertune.components.tuner.asha.ASHA: a Keras Tuner tuner in the shape of
keras_tuner.Hyperband). The rest of the package is in layers, each a folder of the repository
that setup.py installs under this name, so an import path is not a folder path:

    tfx_hypertune.components   components/   the platform: our TFX components and executors
    tfx_hypertune.model        model/        our model's tuner_fn, run_fn and preprocessing_fn
    tfx_hypertune.pipeline     pipeline/     the config and create_pipeline
    tfx_hypertune.kubeflow     kubeflow/     compile, the task entrypoint, launch, submit
    tfx_hypertune.hypertune    hypertune/    the `hypertune` command

docs/layout.md says what each file does.
"""

__all__ = ['ASHA', 'Tuner', 'TunerFnResult']

_HOMES = {'Tuner': 'tfx_hypertune.components.tuner.component',
          'TunerFnResult': 'tfx_hypertune.components.tuner.component',
          'ASHA': 'tfx_hypertune.components.tuner.asha'}


def __getattr__(name):
  # Imported on first use: `import tfx_hypertune.pipeline.config` (the command checks its
  # config before anything heavy loads) must not import TFX and TensorFlow through here.
  if name in _HOMES:
    import importlib
    return getattr(importlib.import_module(_HOMES[name]), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
