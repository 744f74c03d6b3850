"""A user's script: TensorFlow at module level (as many scripts configure it), then two searches
with parallel trials, one after the other, in this one process. Run by
test_stock_tuner_tests.py as `python tests/e2e/two_parallel_searches.py OUT_DIR`; prints one
JSON line per search (its search_info.json).

The warm pool preloads the script that started the run, so its module-level TensorFlow runs in
the pool before any worker is forked (a notebook's kernel, or a long-lived orchestrator
worker, gets there by running a first pipeline)."""

import json
import os
import sys

import tensorflow as tf

tf.config.set_soft_device_placement(True)
MODULE_LEVEL_SUM = float(tf.reduce_sum(tf.constant([1.0, 2.0])))  # initialises TensorFlow


def search_with_parallel_trials(out_dir: str) -> dict:
  from tfx.components.tuner import executor_test  # pylint: disable=import-outside-toplevel
  from tfx.proto import tuner_pb2  # pylint: disable=import-outside-toplevel
  from tfx.utils import proto_utils  # pylint: disable=import-outside-toplevel
  import tfx_hypertune  # pylint: disable=import-outside-toplevel
  from tfx_hypertune.components.tuner import spec  # pylint: disable=import-outside-toplevel
  fixture = executor_test.ExecutorTest('testDoWithModuleFile')
  fixture.setUp()  # TFX's own Tuner test data: penguin examples, schema, a tuner module
  fixture._exec_properties['module_file'] = os.path.join(  # pylint: disable=protected-access
      fixture._testdata_dir, 'module_file', 'tuner_module.py')  # pylint: disable=protected-access
  fixture._exec_properties['tune_args'] = proto_utils.proto_to_json(  # pylint: disable=protected-access
      tuner_pb2.TuneArgs(num_parallel_trials=2))
  executor = tfx_hypertune.Tuner.EXECUTOR_SPEC.executor_class(fixture._context)  # pylint: disable=protected-access
  executor.Do(input_dict=fixture._input_dict, output_dict=fixture._output_dict,  # pylint: disable=protected-access
              exec_properties=fixture._exec_properties)  # pylint: disable=protected-access
  return spec.read_search_info(fixture._tuner_results.uri)  # pylint: disable=protected-access


if __name__ == '__main__':
  for run in ('first', 'second'):
    info = search_with_parallel_trials(os.path.join(sys.argv[1], run))
    print('SEARCH ' + json.dumps({'run': run, 'trials_completed': info['trials_completed'],
                                  'failed_trials': info['failed_trials'],
                                  'worker_failures': info['worker_failures']}), flush=True)
