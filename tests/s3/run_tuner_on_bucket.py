"""Runs our Tuner executor with every output and its search state in an S3 bucket.

    python -m tests.s3.run_tuner_on_bucket ROOT TRANSFORMED_EXAMPLES TRANSFORM_GRAPH SPLIT

ROOT is an s3:// URI (the test serves it from moto on 127.0.0.1); the transformed data are a
local run's. SPLIT is the split searched on (train or eval), so that two calls see different
data, the second warm-starting from the first. Prints one JSON line: the search_info.json the
executor wrote. Ends with os._exit: tensorflow-io's S3 client aborts during interpreter
teardown ("pure virtual method called"), which would turn a good run into exit status 134.
"""

import json
import os
import sys


def main(root: str, examples_uri: str, graph_uri: str, split: str) -> None:
  from tfx.types import standard_artifacts  # pylint: disable=import-outside-toplevel
  from tfx.utils import json_utils  # pylint: disable=import-outside-toplevel

  from components.tuner import executor, spec  # pylint: disable=import-outside-toplevel
  from pipeline import config as config_lib  # pylint: disable=import-outside-toplevel
  from pipeline.pipeline import user_function_config  # pylint: disable=import-outside-toplevel

  def artifact(cls, uri, split_names=None):
    item = cls()
    item.uri = uri
    if split_names:
      item.split_names = split_names
    return item

  input_dict = {
      'examples': [artifact(standard_artifacts.Examples, examples_uri, '["train", "eval"]')],
      'transform_graph': [artifact(standard_artifacts.TransformGraph, graph_uri)]}
  results_uri = spec.join(root, f'Tuner/tuner_results/{split}')
  output_dict = {
      'best_hyperparameters': [artifact(standard_artifacts.HyperParameters,
                                        spec.join(root, f'Tuner/best_hyperparameters/{split}'))],
      'tuner_results': [artifact(standard_artifacts.TunerResults, results_uri)]}
  config = config_lib.build_config({'search': {
      'algorithm': 'random', 'max_trials': 4, 'max_epochs': 2,
      'space': {'num_layers': 1, 'units': {'kind': 'choice', 'values': [16, 32, 48, 64]},
                'dropout': 0.0, 'learning_rate': 0.01}}})
  exec_properties = {
      'tuner_fn': 'model.tuner_fn.tuner_fn',
      'train_args': json.dumps({'splits': [split]}),
      'eval_args': json.dumps({'splits': ['eval']}),
      'custom_config': json_utils.dumps(user_function_config(config, 'bucket-test')),
      'parallel_trials': 2, 'warm_start_trials': 2,
      'search_state_dir': spec.join(root, 'TunerState')}
  executor.Executor().Do(input_dict, output_dict, exec_properties)
  print(json.dumps(spec.read_search_info(results_uri)), flush=True)


if __name__ == '__main__':
  main(*sys.argv[1:])
  sys.stdout.flush()
  os._exit(0)  # pylint: disable=protected-access
