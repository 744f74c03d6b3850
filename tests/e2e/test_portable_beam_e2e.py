"""The pipeline's Beam steps (CsvExampleGen, StatisticsGen, SchemaGen, Transform) on Beam's
portability layer: PortableRunner with Beam's embedded job service and LOOPBACK workers, the
path Flink and Spark take (their job servers replace `embed`; see docs/beam.md). A spy on
PortableRunner.run_pipeline (it calls the real one) proves which Beam runner ran each step."""

import glob
import os

import pytest

from tests.conftest import read_digits_rows, write_csv

pytestmark = pytest.mark.e2e

PORTABLE_ARGS = ['--runner=PortableRunner', '--job_endpoint=embed',
                 '--environment_type=LOOPBACK']
ROWS = 300


def test_beam_steps_on_the_portable_runner(tmp_path, monkeypatch):
  from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2
  from tfx import v1 as tfx
  from tfx.orchestration import metadata
  from tfx.utils import io_utils

  from apache_beam.runners.portability import portable_runner

  from tfx_hypertune.pipeline import config as config_lib
  from tfx_hypertune.pipeline.pipeline import RunValues, code_version, make_example_gen

  job_endpoints = []
  real_run_pipeline = portable_runner.PortableRunner.run_pipeline

  def spy_run_pipeline(self, pipeline, options):
    job_endpoints.append(options.get_all_options()['job_endpoint'])
    return real_run_pipeline(self, pipeline, options)

  monkeypatch.setattr(portable_runner.PortableRunner, 'run_pipeline', spy_run_pipeline)

  header, rows = read_digits_rows(ROWS)
  write_csv(tmp_path / 'data' / 'digits.csv', header, rows)  # no schema.pbtxt: SchemaGen
  config = config_lib.build_config({'data': {'path': str(tmp_path / 'data')},
                                    'output_dir': str(tmp_path / 'runs'),
                                    'beam_pipeline_args': PORTABLE_ARGS})
  # The pipeline's ExampleGen (create_pipeline builds it the same way) and the stock
  # StatisticsGen and SchemaGen, as create_pipeline wires them.
  example_gen = make_example_gen(config, RunValues.of(config))
  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs['examples'])
  schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs['statistics'],
                                        infer_feature_shape=True)
  transform = tfx.components.Transform(
      examples=example_gen.outputs['examples'], schema=schema_gen.outputs['schema'],
      preprocessing_fn='tfx_hypertune.model.transform.preprocessing_fn',
      splits_config=tfx.proto.SplitsConfig(analyze=['train'], transform=['train', 'eval']),
      disable_statistics=True,
      custom_config={'label': 'label', 'code_version': code_version('model')})
  steps = [example_gen, statistics_gen, schema_gen, transform]
  tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
      pipeline_name='portable', pipeline_root=config.pipeline_root, components=steps,
      metadata_connection_config=metadata.sqlite_metadata_connection_config(
          str(tmp_path / 'metadata.sqlite')),
      beam_pipeline_args=list(config.beam_pipeline_args), enable_cache=False))

  root = config.pipeline_root
  examples = 0
  for split in ('train', 'eval', 'test'):
    stats_file = glob.glob(os.path.join(root, 'StatisticsGen', 'statistics', '*',
                                        f'Split-{split}', 'FeatureStats.pb'))[0]
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    stats.ParseFromString(io_utils.read_bytes_file(stats_file))
    examples += stats.datasets[0].num_examples
  assert examples == ROWS  # every row made it through ExampleGen and StatisticsGen
  schema_file = glob.glob(os.path.join(root, 'SchemaGen', 'schema', '*', 'schema.pbtxt'))[0]
  schema = io_utils.parse_pbtxt_file(schema_file, schema_pb2.Schema())
  assert sorted(f.name for f in schema.feature) == sorted(header)
  transformed = sum(len(glob.glob(os.path.join(root, 'Transform', 'transformed_examples', '*',
                                               f'Split-{split}', '*.gz')))
                    for split in ('train', 'eval'))
  assert transformed >= 2
  assert glob.glob(os.path.join(root, 'Transform', 'transform_graph', '*', 'transform_fn',
                                'saved_model.pb'))
  # ExampleGen, StatisticsGen and Transform each ran a Beam pipeline, all on the PortableRunner.
  assert len(job_endpoints) >= 3 and set(job_endpoints) == {'embed'}
