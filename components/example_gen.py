"""CsvExampleGen over span folders with a rolling window.

TFX's file-based driver picks the newest span of `span-{SPAN}/*.csv` (locally and in the
Kubeflow driver container); the stock executor then reads that one span. This executor reads
the newest `span_window` spans up to it into the one Examples artifact (span = the newest),
so a scheduled run trains on the last N days, say, without a span-range resolver, which the
KFP v2 compiler cannot express.
"""

from typing import Any, Dict, List, Optional

import apache_beam as beam
from tfx import types
from tfx.components.example_gen import component as example_gen_component
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter
from tfx_bsl.coders import csv_decoder

from components import spans

SPAN_WINDOW_KEY = 'span_window'


class SpanWindowExampleGenSpec(standard_component_specs.FileBasedExampleGenSpec):
  PARAMETERS = {
      **standard_component_specs.FileBasedExampleGenSpec.PARAMETERS,
      SPAN_WINDOW_KEY: ExecutionParameter(type=int, optional=True),
  }


class _WindowCsvToExample(beam.PTransform):
  """The stock _CsvToExample over the CSV files of several span folders."""

  def __init__(self, exec_properties: Dict[str, Any], split_pattern: str):
    super().__init__()
    self._exec_properties = exec_properties
    self._split_pattern = split_pattern

  def expand(self, pipeline: beam.Pipeline) -> beam.PCollection:
    input_base = self._exec_properties[standard_component_specs.INPUT_BASE_KEY]
    window = self._exec_properties.get(SPAN_WINDOW_KEY) or 1
    newest = self._exec_properties.get(example_gen_utils.SPAN_PROPERTY_NAME)
    if window == 1 or newest is None:
      return pipeline | csv_executor._CsvToExample(self._exec_properties, self._split_pattern)  # pylint: disable=protected-access
    files = window_files(input_base, window, int(newest))
    column_names = _same_header(files)
    # The stock executor's own steps, over the window's files (in span order).
    parsed = (pipeline
              | 'CreateFilenames' >> beam.Create(files)
              | 'ReadFromText' >> beam.ParDo(csv_executor._ReadCsvRecordsFromTextFile())  # pylint: disable=protected-access
              | 'ParseCSVLine' >> beam.ParDo(csv_decoder.ParseCSVLine(delimiter=','))
              | 'ExtractParsedCSVLines' >> beam.Keys())
    column_infos = beam.pvalue.AsSingleton(
        parsed | 'InferColumnTypes' >> beam.CombineGlobally(
            csv_decoder.ColumnTypeInferrer(column_names, skip_blank_lines=True)))
    return parsed | 'ToTFExample' >> beam.ParDo(
        csv_executor._ParsedCsvToTfExample(), column_infos)  # pylint: disable=protected-access


def window_files(input_base: str, window: int, newest: int) -> List[str]:
  chosen = spans.window(spans.list_spans(input_base, fileio.listdir), window, newest)
  files: List[str] = []
  for span in chosen:
    files += sorted(fileio.glob(f'{spans.span_folder(input_base, span)}/*.csv'))
  if not files:
    raise RuntimeError(f'{input_base}: no CSV files in spans {chosen}')
  print(f'  [CsvExampleGen] spans {chosen}: {len(files)} CSV file(s)', flush=True)
  return files


def _same_header(files: List[str]) -> List[str]:
  from tfx.utils import io_utils  # pylint: disable=import-outside-toplevel
  columns = io_utils.load_csv_column_names(files[0])
  for path in files[1:]:
    if io_utils.load_csv_column_names(path) != columns:
      raise RuntimeError(f'{path}: its header differs from {files[0]}')
  return columns


class Executor(csv_executor.Executor):

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    return _WindowCsvToExample


class SpanWindowCsvExampleGen(example_gen_component.FileBasedExampleGen):
  """CsvExampleGen plus `span_window`: read the newest N spans (N may be a runtime
  parameter). Still a FileBasedExampleGen, so the Kubeflow compiler adds the span driver."""

  SPEC_CLASS = SpanWindowExampleGenSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

  def __init__(self, input_base, input_config: example_gen_pb2.Input,
               output_config: example_gen_pb2.Output, span_window: Optional[Any] = None):
    spec = SpanWindowExampleGenSpec(
        input_base=input_base, input_config=input_config, output_config=output_config,
        output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
        output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        span_window=span_window,
        examples=types.Channel(type=standard_artifacts.Examples))
    # Skip FileBasedExampleGen.__init__: it builds the stock spec, without span_window.
    super(example_gen_component.FileBasedExampleGen, self).__init__(spec=spec)
