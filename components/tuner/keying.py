"""What makes two searches the same search, and a dataset the same dataset: the keys the Tuner
files its search state under.

    <search_state_dir>/<settings hash>-<data hash>/

The same settings on the same data resume one search; the same settings on other data (a new
span) are a new search that warm-starts from the previous one; other settings never meet. The
dataset signature (columns and types) keeps everything the Tuner reuses (search state, warm
start, earlier best values) within data of the same shape.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import pathlib
import posixpath
from typing import Any, Dict, Iterable, List

from tfx.components.util import udf_utils
from tfx.dsl.io import fileio
from tfx.types import standard_component_specs
from tfx.utils import json_utils

from tfx_hypertune.components.tuner import plan


def search_key(exec_properties: Dict[str, Any], dataset: str, data_hash: str) -> str:
  """<settings hash>-<data hash>: the same search on the same data gets the same directory;
  the settings part alone finds earlier searches of the same settings (warm start). The
  settings are the tuner_fn (its name and its source file's contents: trials of older code
  are not resumed), its custom_config (parsed, so formatting does not count; without the
  budget parameters, so that a larger budget continues the same search), the train and eval
  steps, and the dataset. Which splits it trains on is data: the data hash has it."""
  custom_config = json_utils.loads(
      exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or 'null') or {}
  settings = {
      'custom_config': {k: v for k, v in custom_config.items()
                        if k not in plan.BUDGET_KEYS},
      'steps': [_steps(exec_properties.get(key)) for key in (
          standard_component_specs.TRAIN_ARGS_KEY, standard_component_specs.EVAL_ARGS_KEY)],
      'tuner_fn': [exec_properties.get(key) for key in (
          standard_component_specs.TUNER_FN_KEY, standard_component_specs.MODULE_FILE_KEY,
          standard_component_specs.MODULE_PATH_KEY)],
      'tuner_fn_source': tuner_fn_source_hash(exec_properties),
      'dataset': dataset}
  settings_hash = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
  return f'{settings_hash[:10]}-{data_hash[:10]}'


def _steps(args_json: str) -> int:
  """num_steps of a TrainArgs / EvalArgs JSON (0: not set)."""
  return int(json.loads(args_json or '{}').get('num_steps') or 0)


def tuner_fn_source_hash(exec_properties: Dict[str, Any]) -> str:
  """source_fingerprint of the tuner_fn's source file (its dotted name, without one)."""
  fn = udf_utils.get_fn(exec_properties, 'tuner_fn')
  try:
    path = pathlib.Path(inspect.getsourcefile(fn))
    return source_fingerprint([path], path.parent)
  except (OSError, TypeError):  # no source to read (a compiled module): its name stands in
    return f'{getattr(fn, "__module__", "")}.{getattr(fn, "__qualname__", "")}'


def source_fingerprint(paths: Iterable[pathlib.Path], base: pathlib.Path) -> str:
  """The one code-change fingerprint: a hash of each file's path (relative to `base`) and
  bytes, in order. The search key takes the tuner_fn's file's; the hypertune pipeline takes
  each layer's files' for TFX's cache (TFX fingerprints a user function's dotted path, not its
  code: tensorflow/tfx#2247)."""
  digest = hashlib.sha256()
  for path in paths:
    digest.update(path.relative_to(base).as_posix().encode())
    digest.update(path.read_bytes())
  return digest.hexdigest()[:16]


def dataset_signature(fn_args) -> str:
  """A hash of what the tuner's data is made of, whatever rows it holds today: the raw columns
  and types (from the schema, else the transform graph, else the examples themselves), and the
  transformed columns when there is a transform graph (which moves with the label)."""
  parts: Dict[str, Any] = {}
  if fn_args.schema_path:
    parts['columns'] = schema_columns(fn_args.schema_path)
  if fn_args.transform_graph_path:
    import tensorflow_transform as tft
    output = tft.TFTransformOutput(fn_args.transform_graph_path)
    parts.setdefault('columns', _spec_columns(output.raw_feature_spec()))
    parts['transformed'] = _spec_columns(output.transformed_feature_spec())
  if 'columns' not in parts:
    parts['columns'] = example_columns(fn_args.train_files)
  text = json.dumps(parts, sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:12]


def schema_columns(schema_path: str) -> List[List[str]]:
  from tensorflow_metadata.proto.v0 import schema_pb2
  from tfx.utils import io_utils
  schema = io_utils.parse_pbtxt_file(schema_path, schema_pb2.Schema())
  return sorted([f.name, schema_pb2.FeatureType.Name(f.type)] for f in schema.feature)


def _spec_columns(feature_spec: Dict[str, Any]) -> List[List[str]]:
  return sorted([name, feature.dtype.name] for name, feature in feature_spec.items())


def example_columns(patterns: List[str]) -> List[List[str]]:
  """The feature names and kinds of the first tf.Example in the training files (examples
  with neither a schema nor a transform graph beside them)."""
  import tensorflow as tf
  files = sorted(path for pattern in patterns for path in fileio.glob(pattern))
  if not files:
    return []
  compression = 'GZIP' if files[0].endswith('.gz') else None
  for record in tf.data.TFRecordDataset(files[:1], compression_type=compression).take(1):
    example = tf.train.Example.FromString(record.numpy())
    return sorted([name, feature.WhichOneof('kind') or '']
                  for name, feature in example.features.feature.items())
  return []


def data_fingerprint(patterns: List[str]) -> str:
  """A hash of the (transformed) training and evaluation files' contents."""
  digest = hashlib.sha256()
  for pattern in patterns:
    for path in sorted(fileio.glob(pattern)):
      digest.update(posixpath.basename(path).encode())
      with fileio.open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
          digest.update(chunk)
  return digest.hexdigest()
