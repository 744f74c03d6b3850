"""One frozen configuration for a pipeline run: loaded from YAML + overrides, validated.

Nothing here touches TFX: the config is plain data so that it can be built, validated and
printed before any component runs. Every user mistake becomes a `ConfigError` whose message
names the setting (as a dotted path, e.g. `search.factor`) and what is wrong with it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from tfx_hypertune.components import spans
from tfx_hypertune.components.tuner import policies, selection
from tfx_hypertune.model import objectives
from tfx_hypertune.model import space as model_space

# Where the repository's bundled data lives (the package is installed in editable mode from
# the repository, and the Kubeflow image copies data/ beside it).
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / 'data' / 'digits'
SCHEMA_FILE_NAME = 'schema.pbtxt'

KNOWN_HYPERPARAMETERS = model_space.KNOBS
HYPERPARAMETER_KINDS = ('int', 'float', 'choice', 'fixed')
ALGORITHMS = policies.ALGORITHMS  # the search API's (components/tuner/oracles.py)
ORCHESTRATORS = ('local', 'beam')
FIT_ON = ('train', 'train_and_eval')
# What the label is: classes, or a number to predict. `auto` is decided from the label column
# by the pre-flight data check (hypertune/data_check.py, `resolve_task`).
TASKS = ('auto', 'classification', 'regression')
OBJECTIVES = objectives.OBJECTIVES
# training.class_weight: `balanced` weighs each class inversely to its training rows (Keras
# class_weight, in the search and in the Trainer; model/datasets.py).
CLASS_WEIGHTS = ('none', 'balanced')


class ConfigError(ValueError):
  """A setting is missing or invalid; the message names it."""


@dataclasses.dataclass(frozen=True)
class HyperparameterSpec:
  """One dimension of the search space, as written in the config file."""
  name: str
  kind: str
  min: Optional[float] = None
  max: Optional[float] = None
  step: Optional[float] = None
  sampling: str = 'linear'
  values: Tuple[Any, ...] = ()
  value: Any = None

  def to_dict(self) -> Dict[str, Any]:
    fields = dataclasses.asdict(self)
    return {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in fields.items() if v not in (None, ())}


DEFAULT_SPACE = model_space.DEFAULT_SPACE

DEFAULT_BEAM_ARGS = (
    # In-process DirectRunner: on small data, multi-processing pays more in worker start-up
    # than it saves (see BENCHMARKS.md). Override with beam_pipeline_args in the config.
    '--direct_running_mode=in_memory',
    '--direct_num_workers=1',
)


@dataclasses.dataclass(frozen=True)
class DataConfig:
  path: str = str(DEFAULT_DATA_DIR)
  label: str = 'label'
  task: str = 'auto'  # auto | classification | regression (TASKS)
  # A curated schema (ImportSchemaGen). None: <path>/schema.pbtxt when it exists, else inferred.
  schema: Optional[str] = None
  # Spans (<path>/span-<N>/*.csv): train on the newest `span_window` spans. None: spans are
  # used when the folder has span-<N> subfolders (window 1), else every CSV file in <path>.
  span_window: Optional[int] = None

  @property
  def is_regression(self) -> bool:
    """`auto` that nobody resolved (a bucket the data check cannot read) counts as
    classification: the pipeline needs one answer."""
    return self.task == 'regression'

  @property
  def uses_spans(self) -> bool:
    if self.span_window is not None:
      return True
    return bool(_isdir(self.path) and spans.list_spans(self.path, _listdir))

  @property
  def window_size(self) -> Optional[int]:
    """How many of the newest spans a run reads; None: not a span layout."""
    return (self.span_window or 1) if self.uses_spans else None

  @property
  def schema_path(self) -> Optional[str]:
    if self.schema:
      return self.schema
    candidate = f'{self.path.rstrip("/")}/{SCHEMA_FILE_NAME}'
    return candidate if _exists(candidate) else None


# Paths in the config may be bucket URIs (gs://, s3://) when compiling for Kubeflow: those go
# through TFX's fileio, imported only then (the CLI checks local input before loading TFX).
# A bucket this machine cannot read counts as holding no span folders and no schema;
# `hypertune compile` says so (remote_data_readable) so that nobody relies on it silently.
def _is_uri(path: str) -> bool:
  return '://' in path


def remote_data_readable(path: str) -> Optional[str]:
  """None if a bucket path can be listed here, else why not (one line)."""
  from tfx.dsl.io import fileio
  try:
    fileio.glob(f'{path.rstrip("/")}/*')
  except Exception as e:  # noqa: BLE001  # any filesystem's error
    return ' '.join(str(e).split())[:200]
  return None


def _remote(call, default):
  try:
    return call()
  except Exception:  # noqa: BLE001  # unreadable bucket: see above
    return default


def _isdir(path: str) -> bool:
  if _is_uri(path):
    from tfx.dsl.io import fileio
    return _remote(lambda: bool(fileio.glob(f'{path.rstrip("/")}/*')), False)
  return os.path.isdir(path)


def _listdir(path: str) -> List[str]:
  if _is_uri(path):
    from tfx.dsl.io import fileio
    return _remote(lambda: [name.rstrip('/') for name in fileio.listdir(path)], [])
  return [name for name in os.listdir(path) if os.path.isdir(os.path.join(path, name))]


def _exists(path: str) -> bool:
  if _is_uri(path):
    from tfx.dsl.io import fileio
    return _remote(lambda: fileio.exists(path), False)
  return os.path.isfile(path)


@dataclasses.dataclass(frozen=True)
class SearchConfig:
  algorithm: str = 'hyperband'
  objective: str = 'val_accuracy'
  max_epochs: int = 10
  factor: int = 3
  hyperband_iterations: int = 1
  # Trial cap for random / bayesian / grid search (Hyperband sizes itself).
  max_trials: int = 20
  early_stopping_patience: int = 5
  # None: from the training rows, about 40 steps per epoch within 8..32 (model/datasets.py).
  batch_size: Optional[int] = None
  # Trials at a time: Keras Tuner workers side by side against one chief oracle (local
  # processes), or the size of a batch of trials on Beam.
  parallel_trials: int = 1
  # Stop weak trials while they train: none, or median (below the median of the other trials at
  # the same epoch: components/tuner/early_stopping.py).
  trial_stopping: str = policies.DEFAULT_TRIAL_STOPPING
  # Where trials run: local (this machine) or beam (batches of parallel_trials trials as Beam
  # pipelines on the Tuner's runner, the oracle in the Tuner: components/tuner/beam_trials.py).
  trials_on: str = 'local'
  # The Tuner's own Beam arguments, after the pipeline's (for trials_on: beam). None: the
  # DirectRunner's worker processes on this machine, parallel_trials of them.
  beam_pipeline_args: Optional[Tuple[str, ...]] = None
  # On new data, try this many of the previous search's best configurations first (0: off).
  warm_start_trials: int = policies.DEFAULT_WARM_START_TRIALS
  # A clock for scheduled runs (None: none): no trial starts that would end after this many
  # minutes of search, going by the longest trial so far; the search ends with what completed.
  max_minutes: Optional[float] = None
  # Which trial the Trainer gets: best, or the smallest / fastest whose objective is within
  # select_tolerance (the objective's units) of the best (components/tuner/selection.py).
  select: str = 'best'
  select_tolerance: float = 0.0
  space: Tuple[HyperparameterSpec, ...] = ()


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
  # The most epochs the final model trains, with early stopping on eval. None: the search's
  # max_epochs (not the best trial's own, often 2-4 in Hyperband: BENCHMARKS.md "Small tables").
  epochs: Optional[int] = None
  # What the final model fits on: `train` (early stopping on eval, as in the search), or
  # `train_and_eval` (15% more rows, for as many epochs as the best trial needed; nothing
  # left to stop early on). BENCHMARKS.md, "Quality", measured both.
  fit_on: str = 'train'
  # none | balanced: each class's rows weigh rows / (classes * class rows) in the loss.
  class_weight: str = 'none'


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
  # An optional absolute floor on test accuracy. Without it (None) a model is blessed when it
  # makes 10% fewer errors than always predicting the majority class (components/evaluator.py).
  accuracy_threshold: Optional[float] = None
  # How much accuracy a new model may lose against the last blessed one and still be blessed.
  max_accuracy_drop: float = 0.0
  # Regression: an optional absolute ceiling on test RMSE (in the label's units). Without it a
  # model is blessed when its MSE is at least 10% below predicting the training mean.
  rmse_threshold: Optional[float] = None
  # Regression: how much higher (relative: 0.05 = 5%) its RMSE may be than the last blessed one.
  max_rmse_increase: float = 0.0


@dataclasses.dataclass(frozen=True)
class Config:
  # None: hypertune-<data folder name>, so that each dataset gets its own runs, metadata store
  # and search state (digits: hypertune-digits).
  pipeline_name: Optional[str] = None
  data: DataConfig = DataConfig()
  search: SearchConfig = SearchConfig()
  training: TrainingConfig = TrainingConfig()
  evaluation: EvaluationConfig = EvaluationConfig()
  output_dir: str = 'runs'
  orchestrator: str = 'local'
  seed: int = 42
  tuning: str = 'always'
  # A best_hyperparameters.txt (from an earlier run's Tuner output) used instead of a search
  # whenever the tuning policy would reuse hyperparameters, even on the first run.
  hyperparameters: Optional[str] = None
  beam_pipeline_args: Tuple[str, ...] = DEFAULT_BEAM_ARGS

  # Everything a run writes lives under output_dir/<pipeline_name>/.
  @property
  def run_dir(self) -> str:
    return os.path.join(os.path.abspath(self.output_dir), self.pipeline_name)

  @property
  def pipeline_root(self) -> str:
    return os.path.join(self.run_dir, 'pipeline_root')

  @property
  def metadata_path(self) -> str:
    return os.path.join(self.run_dir, 'metadata.sqlite')

  @property
  def serving_dir(self) -> str:
    return os.path.join(self.run_dir, 'serving')


# ---------------------------------------------------------------------------------------------
# Loading


def load_config(path: Optional[str] = None,
                overrides: Optional[Mapping[str, Any]] = None) -> Config:
  """Reads the YAML file (if any), applies dotted overrides, validates, returns a Config."""
  raw: Dict[str, Any] = {}
  base_dir = os.getcwd()
  if path:
    raw = _read_yaml(path)
    base_dir = os.path.dirname(os.path.abspath(path))
  for dotted, value in (overrides or {}).items():
    if value is not None:
      _set_dotted(raw, dotted, value)
  return build_config(raw, base_dir=base_dir)


def _read_yaml(path: str) -> Dict[str, Any]:
  if not os.path.isfile(path):
    raise ConfigError(f'config file {path}: not found')
  try:
    with open(path, encoding='utf-8') as f:
      loaded = yaml.safe_load(f)  # safe: a config file never constructs objects
  except yaml.YAMLError as e:
    raise ConfigError(f'config file {path}: not valid YAML ({_first_line(e)})') from None
  if loaded is None:
    return {}
  if not isinstance(loaded, dict):
    raise ConfigError(f'config file {path}: must be a mapping of settings')
  return loaded


def _first_line(error: Exception) -> str:
  return ' '.join(str(error).split())


def _set_dotted(raw: Dict[str, Any], dotted: str, value: Any) -> None:
  node = raw
  *parents, leaf = dotted.split('.')
  for key in parents:
    node = node.setdefault(key, {})
    if not isinstance(node, dict):
      raise ConfigError(f'{dotted}: {key} is not a section')
  node[leaf] = value


def parse_override(assignment: str) -> Tuple[str, Any]:
  """`search.max_epochs=5` -> ('search.max_epochs', 5); the value is read as YAML."""
  if '=' not in assignment:
    raise ConfigError(f'--set {assignment}: expected KEY=VALUE')
  key, text = assignment.split('=', 1)
  return key.strip(), yaml.safe_load(text)


def build_config(raw: Mapping[str, Any], base_dir: str = '.') -> Config:
  """Turns a nested dict (as read from YAML) into a validated Config."""
  raw = dict(raw)
  _reject_unknown('', raw, [f.name for f in dataclasses.fields(Config)])
  data = _section(raw, 'data', DataConfig)
  search_raw = dict(raw.pop('search', None) or {})
  space = _build_space(search_raw.pop('space', None))
  search = _section({'search': search_raw}, 'search', SearchConfig, space=space)
  if isinstance(search.beam_pipeline_args, list):  # from YAML; a Config is immutable
    search = dataclasses.replace(search, beam_pipeline_args=tuple(search.beam_pipeline_args))
  training = _section(raw, 'training', TrainingConfig)
  evaluation = _section(raw, 'evaluation', EvaluationConfig)
  beam_args = raw.pop('beam_pipeline_args', None)
  config = Config(
      data=dataclasses.replace(
          data,
          path=_resolve(base_dir, data.path),
          schema=_resolve(base_dir, data.schema) if data.schema else None),
      search=search,
      training=training,
      evaluation=evaluation,
      beam_pipeline_args=(tuple(str(a) for a in beam_args)
                          if beam_args is not None else DEFAULT_BEAM_ARGS),
      **{k: v for k, v in raw.items()},
  )
  if not config.pipeline_name:
    config = dataclasses.replace(config, pipeline_name=default_pipeline_name(config.data.path))
  if 'output_dir' in raw:
    config = dataclasses.replace(config, output_dir=_resolve(base_dir, config.output_dir))
  if config.hyperparameters:
    config = dataclasses.replace(config,
                                 hyperparameters=_resolve(base_dir, config.hyperparameters))
  validate(config)
  return config


def tuner_beam_pipeline_args(search: SearchConfig) -> List[str]:
  """The Tuner's own Beam arguments for trials on Beam (after the pipeline's, so they win):
  search.beam_pipeline_args, or by default the DirectRunner with parallel_trials worker
  processes (in-memory, the pipeline's default, would run one trial at a time)."""
  if search.beam_pipeline_args is not None:
    return [str(a) for a in search.beam_pipeline_args]
  return ['--direct_running_mode=multi_processing',
          f'--direct_num_workers={search.parallel_trials}']


def default_pipeline_name(data_path: str) -> str:
  """hypertune-<the data folder's name>, in the characters a pipeline name may hold."""
  folder = data_path.rstrip('/').rsplit('/', 1)[-1].split('://')[-1]
  cleaned = ''.join(c if c.isalnum() or c in '-_' else '-' for c in folder).strip('-_')
  return f'hypertune-{cleaned}' if cleaned else 'hypertune'


def _resolve(base_dir: str, path: str) -> str:
  if '://' in str(path):
    return str(path)  # a bucket URI (gs://, s3://): not relative to anything here
  return os.path.normpath(os.path.join(base_dir, os.path.expanduser(str(path))))


def _reject_unknown(prefix: str, raw: Mapping[str, Any], known: List[str]) -> None:
  for key in raw:
    if key not in known:
      where = f'{prefix}{key}'
      raise ConfigError(f'{where}: unknown setting (known: {", ".join(sorted(known))})')


def _section(raw: Dict[str, Any], name: str, cls, **extra):
  values = raw.pop(name, None) or {}
  if not isinstance(values, dict):
    raise ConfigError(f'{name}: must be a mapping of settings')
  known = [f.name for f in dataclasses.fields(cls) if f.name not in extra]
  _reject_unknown(f'{name}.', values, known)
  return cls(**values, **extra)


def _build_space(raw_space: Optional[Mapping[str, Any]]) -> Tuple[HyperparameterSpec, ...]:
  merged = {name: dict(spec) for name, spec in DEFAULT_SPACE.items()}
  if raw_space is not None:
    if not isinstance(raw_space, dict):
      raise ConfigError('search.space: must map hyperparameter names to their ranges')
    for name, spec in raw_space.items():
      where = f'search.space.{name}'
      if name not in KNOWN_HYPERPARAMETERS:
        raise ConfigError(f'{where}: unknown hyperparameter '
                          f'(the model reads: {", ".join(KNOWN_HYPERPARAMETERS)})')
      if not isinstance(spec, dict):
        # A bare value fixes the hyperparameter: `dropout: 0.2`.
        spec = {'kind': 'fixed', 'value': spec}
      if spec.get('kind', merged[name]['kind']) == merged[name]['kind']:
        # Same kind: change only the given fields (`--set search.space.units.max=256`).
        merged[name] = {**merged[name], **spec}
      else:
        merged[name] = dict(spec)
  specs = []
  for name, spec in merged.items():
    fields = [f.name for f in dataclasses.fields(HyperparameterSpec) if f.name != 'name']
    _reject_unknown(f'search.space.{name}.', spec, fields)
    if 'values' in spec:
      spec['values'] = tuple(spec['values'] or ())
    specs.append(HyperparameterSpec(name=name, **spec))
  return tuple(specs)


# ---------------------------------------------------------------------------------------------
# Validation: every check names the setting it rejects.


def validate(config: Config) -> None:
  _check(config.pipeline_name and all(c.isalnum() or c in '-_' for c in config.pipeline_name),
         'pipeline_name', f'{config.pipeline_name!r}: use letters, digits, - and _ only')
  _check(config.orchestrator in ORCHESTRATORS, 'orchestrator',
         f'{config.orchestrator!r}: choose one of {", ".join(ORCHESTRATORS)}')
  _check(_is_int(config.seed) and config.seed >= 0, 'seed', 'must be a non-negative integer')
  _check(isinstance(config.data.label, str) and config.data.label, 'data.label',
         'must name the label column')
  _check(config.data.task in TASKS, 'data.task',
         f'{config.data.task!r}: choose one of {", ".join(TASKS)}')
  _check(config.tuning in policies.POLICIES, 'tuning',
         f'{config.tuning!r}: choose one of {", ".join(policies.POLICIES)}')
  if config.hyperparameters and '://' not in config.hyperparameters:
    _check_hyperparameters_file(config.hyperparameters)
  if config.data.span_window is not None:
    _check_positive_int(config.data.span_window, 'data.span_window')
  _validate_search(config.search, config.data.task)
  if config.training.epochs is not None:
    _check_positive_int(config.training.epochs, 'training.epochs')
  _check(config.training.fit_on in FIT_ON, 'training.fit_on',
         f'{config.training.fit_on!r}: choose one of {", ".join(FIT_ON)}')
  _check(config.training.class_weight in CLASS_WEIGHTS, 'training.class_weight',
         f'{config.training.class_weight!r}: choose one of {", ".join(CLASS_WEIGHTS)}')
  _check(not (config.data.is_regression and config.training.class_weight != 'none'),
         'training.class_weight', 'a regression has no classes to weigh: use none')
  threshold = config.evaluation.accuracy_threshold
  _check(threshold is None or (is_number(threshold) and 0 <= threshold <= 1),
         'evaluation.accuracy_threshold', f'{threshold!r}: must be between 0 and 1 (or null)')
  drop = config.evaluation.max_accuracy_drop
  _check(is_number(drop) and 0 <= drop <= 1, 'evaluation.max_accuracy_drop',
         f'{drop!r}: must be between 0 and 1')
  ceiling = config.evaluation.rmse_threshold
  _check(ceiling is None or (is_number(ceiling) and ceiling > 0), 'evaluation.rmse_threshold',
         f'{ceiling!r}: must be a positive number (or null)')
  increase = config.evaluation.max_rmse_increase
  _check(is_number(increase) and increase >= 0, 'evaluation.max_rmse_increase',
         f'{increase!r}: must be 0 or more')


def with_task(config: Config, task: str, num_classes: Optional[int] = None) -> Config:
  """The config with `auto` resolved to `task`. A regression's objective cannot be accuracy:
  the default val_accuracy becomes val_loss (mean squared error)."""
  search = config.search
  if task == 'regression' and search.objective == 'val_accuracy':
    search = dataclasses.replace(search, objective='val_loss')
  _check(search.objective in OBJECTIVES[task], 'search.objective',
         f'{search.objective!r}: the label is a {task} target here: choose '
         f'{" or ".join(OBJECTIVES[task])}')
  _check(not (search.objective == 'val_auc' and num_classes not in (None, 2)),
         'search.objective', f'val_auc needs a label with two classes; this one has '
         f'{num_classes}: use val_balanced_accuracy')
  _check(not (task == 'regression' and config.training.class_weight != 'none'),
         'training.class_weight', 'the label is a regression target here: it has no classes '
         'to weigh: use none')
  return dataclasses.replace(config, data=dataclasses.replace(config.data, task=task),
                             search=search)


def _check_hyperparameters_file(path: str) -> None:
  _check(os.path.isfile(path), 'hyperparameters', f'{path}: file not found')
  try:
    with open(path, encoding='utf-8') as f:
      values = json.load(f).get('values')
  except (ValueError, AttributeError):
    values = None
  _check(isinstance(values, dict), 'hyperparameters',
         f'{path}: not a best_hyperparameters.txt (JSON with "values", as the Tuner writes)')


def _validate_search(search: SearchConfig, task: str = 'auto') -> None:
  _check(search.algorithm in ALGORITHMS, 'search.algorithm',
         f'{search.algorithm!r}: choose one of {", ".join(ALGORITHMS)}')
  allowed = OBJECTIVES.get(task, tuple(dict.fromkeys(sum(OBJECTIVES.values(), ()))))
  if task == 'regression':
    allowed = ('val_accuracy',) + allowed  # becomes val_loss (with_task)
  _check(search.objective in allowed, 'search.objective',
         f'{search.objective!r}: choose {" or ".join(allowed)}')
  _check_positive_int(search.max_epochs, 'search.max_epochs')
  _check(_is_int(search.factor) and search.factor >= 2, 'search.factor',
         f'{search.factor!r}: Hyperband needs an integer factor of at least 2')
  _check_positive_int(search.hyperband_iterations, 'search.hyperband_iterations')
  _check_positive_int(search.max_trials, 'search.max_trials')
  _check(search.select in selection.RULES, 'search.select',
         f'{search.select!r}: choose one of {", ".join(selection.RULES)}')
  _check(is_number(search.select_tolerance) and search.select_tolerance >= 0,
         'search.select_tolerance',
         f'{search.select_tolerance!r}: must be 0 or more, in the objective\'s units')
  if search.max_minutes is not None:
    _check(is_number(search.max_minutes) and search.max_minutes > 0, 'search.max_minutes',
           f'{search.max_minutes!r}: must be a positive number of minutes (null: no limit)')
  if search.batch_size is not None:
    _check_positive_int(search.batch_size, 'search.batch_size')
  _check_positive_int(search.parallel_trials, 'search.parallel_trials')
  _check(search.trials_on in policies.TRIALS_ON, 'search.trials_on',
         f'{search.trials_on!r}: choose one of {", ".join(policies.TRIALS_ON)}')
  _check(search.trial_stopping in policies.TRIAL_STOPPING_RULES, 'search.trial_stopping',
         f'{search.trial_stopping!r}: choose one of '
         f'{", ".join(policies.TRIAL_STOPPING_RULES)}')
  if search.beam_pipeline_args is not None:
    _check(isinstance(search.beam_pipeline_args, (list, tuple)) and all(
        isinstance(a, str) for a in search.beam_pipeline_args), 'search.beam_pipeline_args',
           'must be a list of Beam arguments, e.g. ["--runner=DataflowRunner", ...]')
  _check(_is_int(search.warm_start_trials) and search.warm_start_trials >= 0,
         'search.warm_start_trials', 'must be a non-negative integer')
  _check(_is_int(search.early_stopping_patience) and search.early_stopping_patience >= 0,
         'search.early_stopping_patience', 'must be a non-negative integer')
  for spec in search.space:
    _validate_hyperparameter(spec)
  num_layers = next(s for s in search.space if s.name == 'num_layers')
  low = num_layers.value if num_layers.kind == 'fixed' else (
      num_layers.min if num_layers.kind == 'int' else min(num_layers.values))
  # 0 layers: no hidden layer, a linear model (softmax or linear regression on the features).
  _check(_is_int(low) and low >= 0, 'search.space.num_layers', 'must be 0 layers or more')


def _validate_hyperparameter(spec: HyperparameterSpec) -> None:
  where = f'search.space.{spec.name}'
  _check(spec.kind in HYPERPARAMETER_KINDS, f'{where}.kind',
         f'{spec.kind!r}: unknown hyperparameter kind (known: {", ".join(HYPERPARAMETER_KINDS)})')
  if spec.kind == 'fixed':
    _check(is_number(spec.value), f'{where}.value', 'a fixed hyperparameter needs a number')
    return
  if spec.kind == 'choice':
    _check(spec.values and all(is_number(v) for v in spec.values), f'{where}.values',
           'a choice needs a non-empty list of numbers')
    return
  is_int = spec.kind == 'int'
  check_type = _is_int if is_int else is_number
  for bound in ('min', 'max'):
    _check(check_type(getattr(spec, bound)), f'{where}.{bound}',
           f'{getattr(spec, bound)!r}: must be {"an integer" if is_int else "a number"}')
  _check(spec.min <= spec.max, where, f'min {spec.min} is above max {spec.max}')
  if spec.step is not None:
    _check(check_type(spec.step) and spec.step > 0, f'{where}.step',
           f'{spec.step!r}: must be a positive {"integer" if is_int else "number"}')
  _check(spec.sampling in ('linear', 'log'), f'{where}.sampling',
         f'{spec.sampling!r}: choose linear or log')
  if spec.sampling == 'log':
    _check(spec.min > 0, f'{where}.min', 'log sampling needs min above 0')
  if spec.name in ('dropout',):
    _check(0 <= spec.min and spec.max < 1, where, 'dropout must lie in [0, 1)')
  if spec.name == 'units':
    _check(spec.min >= 1, f'{where}.min', 'must be at least 1')
  if spec.name == 'num_layers':
    _check(spec.min >= 0, f'{where}.min', 'must be 0 or more (0: a linear model)')


def _check(ok: Any, setting: str, message: str) -> None:
  if not ok:
    raise ConfigError(f'{setting}: {message}')


def _check_positive_int(value: Any, setting: str) -> None:
  _check(_is_int(value) and value >= 1, setting, f'{value!r}: must be a positive integer')


def _is_int(value: Any) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
  """A finite int or float (not a bool): what a numeric setting must be."""
  return (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value))
