"""CsvExampleGen that splits rows by their position, over span folders with a rolling window.

Three changes to the stock CsvExampleGen:
- Every file is read as the data check reads it (components/csv_table.py: Python's csv module,
  a byte-order mark dropped, whitespace around fields stripped, NaN / NA / null missing),
  where the stock reader took quotes in the header as part of the names.
- `split_seed`: rows go to train / eval / test by their position in their file
  (components/splits.py), not by a hash of their content, which sends identical rows to one
  split. The SplitConfig's hash_buckets (14/3/3) still set the shares.
- `span_window`: TFX's file-based driver picks the newest span of `span-{SPAN}/*.csv` (locally
  and in the Kubeflow driver container); this executor reads the newest `span_window` spans up
  to it into the one Examples artifact (span = the newest), so a scheduled run trains on the
  last N days, say, without a span-range resolver, which the KFP v2 compiler cannot express.
"""

import posixpath
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

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
from tfx.utils import proto_utils
from tfx_bsl.coders import csv_decoder

from tfx_hypertune.components import csv_table, log, spans, splits, tfx_private

SPAN_WINDOW_KEY = 'span_window'
SPLIT_SEED_KEY = 'split_seed'
CODE_VERSION_KEY = 'code_version'  # a hash of this code: a change re-runs ExampleGen


class SpanWindowExampleGenSpec(standard_component_specs.FileBasedExampleGenSpec):
  PARAMETERS = {
      **standard_component_specs.FileBasedExampleGenSpec.PARAMETERS,
      SPAN_WINDOW_KEY: ExecutionParameter(type=int, optional=True),
      SPLIT_SEED_KEY: ExecutionParameter(type=int, optional=True),
      CODE_VERSION_KEY: ExecutionParameter(type=str, optional=True),
  }


def window_files(input_base: str, window: int, newest: int) -> List[str]:
  by_span = spans.window_files(input_base, window, newest, fileio.listdir, fileio.glob)
  chosen = list(by_span)
  files = [path for span_files in by_span.values() for path in span_files]
  if not files:
    raise RuntimeError(f'{input_base}: no CSV files in spans {chosen}')
  log.say(f'  [CsvExampleGen] spans {chosen}: {len(files)} CSV file(s)')
  return files


def input_files(exec_properties: Dict[str, Any], pattern: str) -> List[str]:
  """The CSV files this execution reads: the span window's, else the (resolved) pattern's."""
  input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
  window = exec_properties.get(SPAN_WINDOW_KEY) or 1
  newest = exec_properties.get(example_gen_utils.SPAN_PROPERTY_NAME)
  if window > 1 and newest is not None:
    return window_files(input_base, int(window), int(newest))
  files = csv_table.data_files(fileio.glob(posixpath.join(input_base, pattern)))
  if not files:
    raise RuntimeError(f'{posixpath.join(input_base, pattern)}: no CSV files')
  return files


def _header(path: str) -> List[str]:
  with fileio.open(path, 'rb') as binary, csv_table.text_stream(binary) as f:
    return csv_table.read(f)[0]


def with_content(files: List[str]) -> List[str]:
  """The files that hold a header at least: a part of no bytes is left out (the data check
  counts it, csv_table.py)."""
  kept = []
  for path in files:
    with fileio.open(path, 'rb') as binary:
      if not csv_table.first_bytes_blank(binary):
        kept.append(path)
  if not kept:
    raise RuntimeError(f'{files[0] if files else "no file"}: every CSV file is empty')
  return kept


def _same_header(files: List[str]) -> List[str]:
  columns = _header(files[0])
  for path in files[1:]:
    if _header(path) != columns:
      raise RuntimeError(f'{path}: its header differs from {files[0]}')
  return columns


class _ReadRowsWithSplit(beam.DoFn):
  """A CSV file -> (split index, cells as bytes) for each non-blank record, the split by the
  record's position (splits.assign), the cells read as the data check reads them
  (components/csv_table.py). Reads the file twice: to count its rows, then to emit."""

  def __init__(self, seed: int, shares: Sequence[float]):
    super().__init__()
    self._seed = seed
    self._shares = tuple(shares)

  def _rows(self, path: str) -> Iterator[List[bytes]]:
    with beam.io.filesystems.FileSystems.open(path) as binary:
      _, records = csv_table.read(csv_table.text_stream(binary))
      for _, cells, _ in records:
        yield [cell.encode('utf-8') for cell in cells]

  def process(self, path: str) -> Iterator[Tuple[int, List[bytes]]]:
    count = sum(1 for _ in self._rows(path))
    assignment = splits.assign(count, posixpath.basename(path), self._seed, self._shares)
    yield from zip(assignment, self._rows(path))


class _ToExampleKeepingSplit(beam.DoFn):
  def __init__(self):
    super().__init__()
    self._convert = tfx_private.parsed_csv_to_tf_example()

  def process(self, item, column_infos):
    split, cells = item
    for example in self._convert.process(cells, column_infos):
      yield split, example


class _PositionSplitCsv(beam.PTransform):
  """CSV files -> (split index, tf.Example), with the stock column type inference."""

  def __init__(self, files: List[str], seed: int, shares: Sequence[float]):
    super().__init__()
    self._files, self._seed, self._shares = files, seed, shares

  def expand(self, pipeline: beam.Pipeline) -> beam.PCollection:
    column_names = _same_header(self._files)
    parsed = (pipeline
              | 'CreateFilenames' >> beam.Create(self._files)
              | 'ReadRowsWithSplit' >> beam.ParDo(_ReadRowsWithSplit(self._seed, self._shares)))
    column_infos = beam.pvalue.AsSingleton(
        parsed
        | 'Cells' >> beam.Values()
        | 'InferColumnTypes' >> beam.CombineGlobally(
            csv_decoder.ColumnTypeInferrer(column_names, skip_blank_lines=True)))
    return parsed | 'ToTFExample' >> beam.ParDo(_ToExampleKeepingSplit(), column_infos)


class Executor(csv_executor.Executor):

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: Dict[str, Any]
                             ) -> Dict[str, beam.PCollection]:
    input_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input())
    output_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], example_gen_pb2.Output())
    split_config = output_config.split_config.splits
    if len(input_config.splits) != 1 or not split_config:
      raise ValueError('SpanWindowCsvExampleGen: one input pattern and output splits expected')
    files = with_content(input_files(exec_properties, input_config.splits[0].pattern))
    shares = [split.hash_buckets for split in split_config]
    seed = int(exec_properties.get(SPLIT_SEED_KEY) or 0)
    tagged = pipeline | 'CsvRowsWithSplits' >> _PositionSplitCsv(files, seed, shares)
    parts = tagged | 'SplitByPosition' >> beam.Partition(lambda item, _: item[0],
                                                          len(split_config))
    return {split.name: part | f'Examples[{split.name}]' >> beam.Values()
            for split, part in zip(split_config, parts)}


class SpanWindowCsvExampleGen(example_gen_component.FileBasedExampleGen):
  """CsvExampleGen plus `span_window` (read the newest N spans; N may be a runtime parameter)
  and `split_seed` (rows split by position). Still a FileBasedExampleGen, so the Kubeflow
  compiler adds the span driver."""

  SPEC_CLASS = SpanWindowExampleGenSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

  def __init__(self, input_base, input_config: example_gen_pb2.Input,
               output_config: example_gen_pb2.Output, span_window: Optional[Any] = None,
               split_seed: Optional[int] = None, code_version: Optional[str] = None):
    spec = SpanWindowExampleGenSpec(
        input_base=input_base, input_config=input_config, output_config=output_config,
        output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
        output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        span_window=span_window, split_seed=split_seed, code_version=code_version,
        examples=types.Channel(type=standard_artifacts.Examples))
    # Skip FileBasedExampleGen.__init__: it builds the stock spec, without our parameters.
    super(example_gen_component.FileBasedExampleGen, self).__init__(spec=spec)
