"""Every use of a private part of TFX, in one place, for the version it was written for (as
components/tuner/keras_tuner_private.py does for Keras Tuner).

Everything else extends TFX through its public classes. What is here has no public route in
TFX 1.16:

- The Tuner's executor is a BaseBeamExecutor (every orchestrator, the Kubeflow entrypoint
  included, hands Beam arguments only to one) without BaseBeamExecutor.__init__, which would
  package the installed TFX as an --extra_package for the workers (what trial workers need is
  tfx_hypertune and the tuner_fn, from the pipeline's image or --setup_file), parse the
  arguments as absl flags, and refuse a plain Context (which the stock Tuner's tests give).
- ExampleGen converts parsed CSV cells to tf.Examples with the stock CSV executor's
  `_ParsedCsvToTfExample` (its column type inference included), fed by our own reader.
- The Kubeflow entrypoint (kubeflow/entrypoint.py) runs TFX's v2 container entrypoint as its
  `main` would, through `_parse_flags` and `_run_executor` (its main passes absl's argv[0]
  along, which lands among the Beam arguments), and runs ExampleGen's driver through
  `driver._run_driver` where the open-source backend runs no preCacheCheck.

tests/unit/test_tfx_private.py fails when any of these parts changes, and importing this module
warns when the installed TFX is not WRITTEN_FOR.
"""

import warnings

import tfx  # the package's own __init__ only: light

WRITTEN_FOR = '1.16.0'
if tfx.__version__ != WRITTEN_FOR:
  warnings.warn(f'tfx-hypertune uses private parts of tfx {WRITTEN_FOR}; {tfx.__version__} is '
                f'installed (components/tfx_private.py)', stacklevel=2)


def init_beam_executor_without_packaging(executor, context) -> None:
  """A BaseBeamExecutor subclass's __init__: BaseExecutor's only (see the module docstring)."""
  from tfx.dsl.components.base import base_executor
  base_executor.BaseExecutor.__init__(executor, context)


def parsed_csv_to_tf_example():
  """The stock CSV ExampleGen's DoFn from parsed cells (and inferred column types) to
  tf.Examples."""
  from tfx.components.example_gen.csv_example_gen import executor as csv_executor
  return csv_executor._ParsedCsvToTfExample()  # noqa: SLF001


def run_example_gen_driver(executor_input_proto, inputs_spec_proto) -> None:
  """TFX's Kubeflow v2 FileBasedExampleGen driver (span resolution, input fingerprint)."""
  from tfx.orchestration.kubeflow.v2.file_based_example_gen import driver
  driver._run_driver(executor_input_proto, inputs_spec_proto)  # noqa: SLF001


def run_v2_container_executor(argv) -> None:
  """TFX's Kubeflow v2 container entrypoint on `argv` (no program name), as its main would."""
  from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as entrypoint
  args, beam_args = entrypoint._parse_flags(argv)  # noqa: SLF001
  entrypoint._run_executor(args, beam_args)  # noqa: SLF001
