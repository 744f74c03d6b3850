"""Runs the whole pipeline (LocalDagRunner) with its pipeline root and push destination in an
S3 bucket, then the Tuner executor once more on that run's transformed data in the bucket.

    python -m tests.s3.run_pipeline_on_bucket BUCKET_URI DATA_DIR OUTPUT_DIR

The S3 endpoint and credentials come from the environment (S3_ENDPOINT, AWS_*: tensorflow-io
reads them; the Beam steps get them as pipeline arguments). The second Tuner execution searches
the eval split instead of train, i.e. other data with the same settings, so it warm-starts
from the pipeline's search. Prints one JSON line: both executions' search_info.json. Ends
with os._exit: tensorflow-io's S3 client aborts during interpreter teardown ("pure virtual
method called"), which would turn a good run into exit status 134.
"""

import json
import os
import sys


def run_pipeline(bucket: str, data_dir: str, output_dir: str):
  from tfx import v1 as tfx  # pylint: disable=import-outside-toplevel

  from tfx_hypertune.components import filesystems  # pylint: disable=import-outside-toplevel
  from tfx_hypertune.hypertune import local_runner, results  # pylint: disable=import-outside-toplevel
  from tfx_hypertune.pipeline import config as config_lib  # pylint: disable=import-outside-toplevel
  from tfx_hypertune.pipeline.pipeline import create_pipeline  # pylint: disable=import-outside-toplevel

  endpoint = os.environ['S3_ENDPOINT']
  config = config_lib.build_config({
      'output_dir': output_dir, 'data': {'path': data_dir}, 'seed': 3,
      'search': {'max_epochs': 3, 'parallel_trials': 2},
      'beam_pipeline_args': [
          '--direct_running_mode=in_memory', '--direct_num_workers=1',
          f'--s3_endpoint_url={endpoint}', '--s3_access_key_id=test',
          '--s3_secret_access_key=test', '--s3_region_name=us-east-1']})
  root = f'{bucket}/root'
  filesystems.support(root)
  os.makedirs(config.run_dir, exist_ok=True)  # the metadata store stays local (SQLite)
  metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
  pipeline = create_pipeline(config, pipeline_root=root, serving_dir=f'{bucket}/serving',
                             metadata_connection_config=metadata)
  with local_runner._progress_logging(verbose=False):  # pylint: disable=protected-access
    tfx.orchestration.LocalDagRunner().run(pipeline)
  return config, results.latest_run(config.metadata_path)


def search_again(config, nodes, bucket: str):
  """The Tuner executor on the run's transformed data, searching the eval split."""
  from tfx.types import standard_artifacts  # pylint: disable=import-outside-toplevel
  from tfx.utils import json_utils  # pylint: disable=import-outside-toplevel

  from tfx_hypertune.components.tuner import executor, spec  # pylint: disable=import-outside-toplevel
  from tfx_hypertune.pipeline.pipeline import code_version, user_function_config  # pylint: disable=import-outside-toplevel

  from tests.e2e.helpers import make_artifact as artifact  # pylint: disable=import-outside-toplevel
  transform = nodes['Transform']
  input_dict = {
      'examples': [artifact(standard_artifacts.Examples,
                            transform.uri('transformed_examples'), '["train", "eval"]')],
      'transform_graph': [artifact(standard_artifacts.TransformGraph,
                                   transform.uri('transform_graph'))]}
  results_uri = f'{bucket}/again/tuner_results'
  output_dict = {
      'best_hyperparameters': [artifact(standard_artifacts.HyperParameters,
                                        f'{bucket}/again/best_hyperparameters')],
      'tuner_results': [artifact(standard_artifacts.TunerResults, results_uri)]}
  custom = {**user_function_config(config, code_version('model')),
            'code_version': f'{code_version("model")}-{code_version("tuner")}'}
  exec_properties = {
      'tuner_fn': 'tfx_hypertune.model.tuner_fn.tuner_fn',
      'train_args': json.dumps({'splits': ['eval']}),
      'eval_args': json.dumps({'splits': ['eval']}),
      'custom_config': json_utils.dumps(custom),
      'parallel_trials': 1, 'warm_start_trials': 2,
      'search_state_dir': f'{bucket}/root/TunerState'}
  executor.Executor().Do(input_dict, output_dict, exec_properties)
  return spec.read_search_info(results_uri)


def main(bucket: str, data_dir: str, output_dir: str) -> None:
  from tfx_hypertune.components.tuner import spec  # pylint: disable=import-outside-toplevel
  config, nodes = run_pipeline(bucket, data_dir, output_dir)
  first = spec.read_search_info(nodes['Tuner'].uri('tuner_results'))
  pushed = nodes['Pusher'].custom('pushed_model', 'pushed_destination')
  second = search_again(config, nodes, bucket)
  print(json.dumps({'pipeline': first, 'again': second, 'pushed': pushed,
                    'uris': {name: {key: [a.uri for a in artifacts]
                                    for key, artifacts in node.outputs.items()}
                             for name, node in nodes.items()}}), flush=True)


if __name__ == '__main__':
  main(*sys.argv[1:])
  sys.stdout.flush()
  os._exit(0)  # pylint: disable=protected-access
