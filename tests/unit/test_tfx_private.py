"""The private parts of TFX that components/tfx_private.py relies on are still there, as they
were in the version it was written for. When an upgrade changes one of them, this fails and
says which."""

import inspect

import tfx

from tfx_hypertune.components import tfx_private


def test_the_installed_tfx_is_the_one_it_was_written_for():
  assert tfx.__version__ == tfx_private.WRITTEN_FOR


def test_base_beam_executor_init_still_packages_tfx_and_parses_flags():
  """What the Tuner's executor skips: if BaseBeamExecutor.__init__ stops packaging TFX as a
  dependency of the workers and parsing absl flags, the skip can go."""
  from tfx.dsl.components.base import base_beam_executor
  source = inspect.getsource(base_beam_executor.BaseBeamExecutor.__init__)
  assert 'make_beam_dependency_flags' in source and 'flags' in source
  from tfx_hypertune.components.tuner import executor
  ours = executor.Executor()  # a plain context: what the stock Tuner's tests give
  assert ours.beam_pipeline_args() == []


def test_the_csv_executor_still_has_its_parsed_cells_to_example_dofn():
  import apache_beam as beam
  converter = tfx_private.parsed_csv_to_tf_example()
  assert isinstance(converter, beam.DoFn)
  assert list(inspect.signature(converter.process).parameters) == ['csv_cells',
                                                                     'column_infos']


def test_the_kubeflow_entrypoint_still_has_its_private_steps():
  from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as entrypoint
  from tfx.orchestration.kubeflow.v2.file_based_example_gen import driver
  assert list(inspect.signature(entrypoint._parse_flags).parameters) == ['argv']  # noqa: SLF001
  assert list(inspect.signature(entrypoint._run_executor).parameters) == ['args', 'beam_args']  # noqa: SLF001
  assert list(inspect.signature(driver._run_driver).parameters)[:2] == [  # noqa: SLF001
      'executor_input', 'component_inputs_spec']
