"""Reading back what a real pipeline run produced: models, examples, metadata."""

import contextlib
import csv
import logging
import glob
import json
import os
import re
import subprocess
import sys
import time

import tensorflow as tf

from tfx_hypertune.hypertune import cli, results


def make_artifact(cls, uri, split_names=None):
  """A TFX artifact of type `cls` at `uri` (JSON split names for Examples), as an executor's
  input or output."""
  artifact = cls()
  artifact.uri = uri
  if split_names:
    artifact.split_names = split_names
  return artifact


def run_cli(capsys, *args):
  """Runs `hypertune ARGS` in this process; returns (exit code, stdout, stderr)."""
  code = cli.main(list(args))
  captured = capsys.readouterr()
  return code, captured.out, captured.err


def serving_versions(serving_dir):
  if not os.path.isdir(serving_dir):
    return []
  return sorted(d for d in os.listdir(serving_dir) if d.isdigit())


def saved_model_hidden_widths(model_dir):
  """The width of each Dense layer before the output, read from the SavedModel's variables
  (not from anything our code wrote about itself)."""
  reader = tf.train.load_checkpoint(os.path.join(model_dir, 'variables', 'variables'))
  kernels = []
  for name, shape in reader.get_variable_to_shape_map().items():
    match = re.match(r'^_operations/(\d+)/_kernel/\.ATTRIBUTES/VARIABLE_VALUE$', name)
    if match:
      kernels.append((int(match.group(1)), shape))
  return [shape[1] for _, shape in sorted(kernels)][:-1]


def split_examples(pipeline_root, split):
  """Serialized raw tf.Examples of one CsvExampleGen split (the newest execution's)."""
  pattern = os.path.join(pipeline_root, 'CsvExampleGen', 'examples', '*', f'Split-{split}', '*')
  files = sorted(glob.glob(pattern), key=os.path.getmtime)
  return split_examples_at(os.path.dirname(os.path.dirname(files[-1])), split)


def split_examples_at(examples_uri, split):
  """Serialized raw tf.Examples of one split of an Examples artifact."""
  examples = []
  for path in sorted(glob.glob(os.path.join(examples_uri, f'Split-{split}', '*'))):
    examples += [r.numpy() for r in tf.data.TFRecordDataset(path, compression_type='GZIP')]
  return examples


def label_of(serialized, label):
  example = tf.train.Example.FromString(serialized)
  feature = example.features.feature[label]
  if feature.int64_list.value:
    return str(feature.int64_list.value[0])
  return feature.bytes_list.value[0].decode()


def serve_accuracy(model_dir, examples, label):
  serve = tf.saved_model.load(model_dir).signatures['serving_default']
  predicted = serve(examples=tf.constant(examples))['label'].numpy()
  truth = [label_of(e, label) for e in examples]
  return sum(p.decode() == t for p, t in zip(predicted, truth)) / len(truth)


def node_states(metadata_path):
  return {node: run.state for node, run in results.latest_run(metadata_path).items()}


@contextlib.contextmanager
def moto_s3_server(bucket: str = 'mlpipeline'):
  """An S3-compatible server (moto's server mode) on 127.0.0.1 with one bucket; yields
  (the environment a process that uses it needs, a boto3 client). Stopped afterwards."""
  import boto3
  from tfx_hypertune.components.tuner import local_pool
  port = local_pool.free_port()
  server = subprocess.Popen([sys.executable, '-m', 'moto.server', '-H', '127.0.0.1', '-p',
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  endpoint = f'http://127.0.0.1:{port}'
  env = dict(os.environ, AWS_ACCESS_KEY_ID='test', AWS_SECRET_ACCESS_KEY='test',
             AWS_REGION='us-east-1', S3_ENDPOINT=endpoint, S3_USE_HTTPS='0', S3_VERIFY_SSL='0')
  client = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1',
                        aws_access_key_id='test', aws_secret_access_key='test')
  deadline = time.monotonic() + 60
  try:
    while True:
      try:
        client.create_bucket(Bucket=bucket)
        break
      except Exception:  # noqa: BLE001  # the server is still starting
        assert time.monotonic() < deadline, 'moto server did not start'
        time.sleep(0.3)
    yield env, client
  finally:
    server.kill()
    server.wait()


def bucket_keys(client, bucket: str = 'mlpipeline') -> set:
  return {o['Key'] for page in client.get_paginator('list_objects_v2').paginate(Bucket=bucket)
          for o in page.get('Contents', [])}


def best_by_rule(items, score, val_loss, trial_id, direction='max'):
  """The best trial as the Tuner chooses it (spec.best_first): the best score for the
  direction; of equal scores the lower val_loss (none recorded: last), then the earlier trial."""
  sign = 1 if direction == 'max' else -1

  def key(item):
    loss = val_loss(item)
    return (-sign * float(score(item)), float('inf') if loss in (None, '') else float(loss),
            int(trial_id(item)))
  return min(items, key=key)


def best_row(rows, direction='max'):
  """best_by_rule over trials.csv rows."""
  return best_by_rule(rows, score=lambda r: r['score'], val_loss=lambda r: r.get('val_loss'),
                      trial_id=lambda r: r['trial_id'], direction=direction)


def trial_json_val_loss(trial):
  """The best val_loss of a Keras Tuner trial.json dict, or None."""
  history = trial.get('metrics', {}).get('metrics', {}).get('val_loss')
  observations = (history or {}).get('observations') or []
  return min((o['value'][0] for o in observations), default=None)


def run_tuner_executor(out_dir: str, tuner_fn: str, custom_config=None, beam_args=None,
                       **properties) -> None:
  """One execution of our executor, as TFX would make it, with outputs under out_dir and the
  search state in out_dir/state. beam_args: the Tuner's Beam arguments, as TFX hands them to
  the executor of a Beam component."""
  from tfx.types import artifact_utils, standard_artifacts
  from tfx.utils import json_utils
  import tfx
  import tfx_hypertune
  testdata = os.path.join(os.path.dirname(tfx.__file__), 'components', 'testdata', 'penguin')
  examples = standard_artifacts.Examples()
  examples.uri = os.path.join(testdata, 'data')
  examples.split_names = artifact_utils.encode_split_names(['train', 'eval'])
  schema = standard_artifacts.Schema()
  schema.uri = os.path.join(testdata, 'schema')
  best, results = standard_artifacts.HyperParameters(), standard_artifacts.TunerResults()
  best.uri, results.uri = os.path.join(out_dir, 'best'), os.path.join(out_dir, 'results')
  from tfx.dsl.components.base import base_beam_executor
  context = (base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args)
             if beam_args is not None else None)
  executor = tfx_hypertune.Tuner.EXECUTOR_SPEC.executor_class(context)
  executor.Do({'examples': [examples], 'schema': [schema]},
              {'best_hyperparameters': [best], 'tuner_results': [results]},
              {'tuner_fn': tuner_fn, 'train_args': '{}', 'eval_args': '{}',
               'custom_config': json_utils.dumps(custom_config or {}),
               'search_state_dir': os.path.join(out_dir, 'state'), **properties})


def tuner_trial_files(out_dir: str):
  """Keras Tuner's own trial.json files in the live project, by status."""
  statuses = {}
  for path in glob.glob(os.path.join(out_dir, 'state', '*', 'kinds', 'trial_*', 'trial.json')):
    try:
      with open(path) as f:
        trial = json.load(f)
    except ValueError:  # being written as we look (or cut short by a kill)
      continue
    statuses.setdefault(trial['status'], []).append(trial)
  return statuses


def tuner_outputs(out_dir: str):
  with open(os.path.join(out_dir, 'best', 'best_hyperparameters.txt')) as f:
    best = json.load(f)
  with open(os.path.join(out_dir, 'results', 'tuner_results.json')) as f:
    results = json.load(f)
  with open(os.path.join(out_dir, 'results', 'search_info.json')) as f:
    info = json.load(f)
  with open(os.path.join(out_dir, 'results', 'trials.csv')) as f:
    rows = list(csv.DictReader(f))
  return best, results, info, rows


def progress_lines(caplog, containing: str = ''):
  """The lines our components said (components/log.py) that hold `containing`."""
  from tfx_hypertune.components import log
  return [r.getMessage() for r in caplog.records
          if log.is_progress(r) and containing in r.getMessage()]


def transformed_inputs(transformed):
  """The Tuner's input_dict for the transformed_digits fixture (tests/conftest.py)."""
  from tfx.types import standard_artifacts
  examples = make_artifact(standard_artifacts.Examples, transformed['examples'],
                           json.dumps(transformed['splits']))
  return {'examples': [examples],
          'transform_graph': [make_artifact(standard_artifacts.TransformGraph,
                                            transformed['transform_graph'])]}


class ProgressCollector(logging.Handler):
  """Collects the lines our components say (components/log.py), for a test that runs an
  executor in this process (caplog holds them too, but not in a module fixture)."""

  def __init__(self):
    super().__init__(level=logging.INFO)
    self.lines = []

  def emit(self, record):
    from tfx_hypertune.components import log
    if log.is_progress(record):
      self.lines.append(record.getMessage())
