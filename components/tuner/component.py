"""The Tuner component: the stock spec and constructor, our executor."""

from tfx.components.tuner import component as stock_tuner
from tfx.dsl.components.base import executor_spec

from components.tuner import executor


class Tuner(stock_tuner.Tuner):
  """Drop-in for tfx.components.Tuner: same inputs, outputs and parameters (the Trainer and
  Kubeflow compilation see no difference), searched by `components.tuner.executor`."""

  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)
