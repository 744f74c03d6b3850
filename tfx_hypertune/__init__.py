"""tfx-hypertune: hyperparameter search inside a production TFX pipeline.

    from tfx_hypertune import Tuner      # a drop-in for tfx.components.Tuner

`Tuner` (tfx_hypertune.components.tuner.component.Tuner; its docstring lists what it adds to
the stock one) and `TunerFnResult` (the stock one) are the public API. The layers below are
the rest of the package, each a folder of the repository (setup.py maps them here):

    tfx_hypertune.components   the platform: our TFX components and their executors
    tfx_hypertune.model        our model's tuner_fn, run_fn and preprocessing_fn
    tfx_hypertune.pipeline     the config and create_pipeline
    tfx_hypertune.kubeflow     compile, the task entrypoint, launch, submit
    tfx_hypertune.hypertune    the `hypertune` command
"""

__all__ = ['Tuner', 'TunerFnResult']


def __getattr__(name):
  # Imported on first use: `import tfx_hypertune.pipeline.config` (the command checks its
  # config before anything heavy loads) must not import TFX and TensorFlow through here.
  if name in __all__:
    from tfx_hypertune.components.tuner import component
    return getattr(component, name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
