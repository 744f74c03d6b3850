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
  from tfx.components.tuner import executor_test
  from tfx.proto import tuner_pb2
  from tfx.utils import proto_utils
  import tfx_hypertune
  from tfx_hypertune.components.tuner import search_info
  fixture = executor_test.ExecutorTest('testDoWithModuleFile')
  fixture.setUp()  # TFX's own Tuner test data: penguin examples, schema, a tuner module
  fixture._exec_properties['module_file'] = os.path.join(  # noqa: SLF001
      fixture._testdata_dir, 'module_file', 'tuner_module.py')  # noqa: SLF001
  fixture._exec_properties['tune_args'] = proto_utils.proto_to_json(  # noqa: SLF001
      tuner_pb2.TuneArgs(num_parallel_trials=2))
  executor = tfx_hypertune.Tuner.EXECUTOR_SPEC.executor_class(fixture._context)  # noqa: SLF001
  executor.Do(input_dict=fixture._input_dict, output_dict=fixture._output_dict,  # noqa: SLF001
              exec_properties=fixture._exec_properties)  # noqa: SLF001
  return search_info.read(fixture._tuner_results.uri).to_json()  # noqa: SLF001


if __name__ == '__main__':
  for run in ('first', 'second'):
    info = search_with_parallel_trials(os.path.join(sys.argv[1], run))
    print('SEARCH ' + json.dumps({'run': run, 'trials_completed': info['trials_completed'],
                                  'failed_trials': info['failed_trials'],
                                  'worker_failures': info['worker_failures']}), flush=True)
