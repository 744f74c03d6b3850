"""What a finished run produced, read back from ML Metadata and the artifacts.

`latest_run` finds the newest pipeline run in the SQLite store and, for each component, its
execution state (COMPLETE, CACHED, FAILED) and output artifacts; `RunSummary` turns those into
the few facts a person wants at the end of `hypertune run`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, List, Optional

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tfx_hypertune.components.tuner import files, search_info, spec
from tfx_hypertune.components.tuner.hyperparameters import active_values_of_config

@dataclasses.dataclass
class NodeRun:
  node_id: str
  state: str  # metadata_store_pb2.Execution.State name: COMPLETE, CACHED, FAILED, ...
  outputs: Dict[str, List[metadata_store_pb2.Artifact]]

  def uri(self, key: str) -> str:
    return self.outputs[key][0].uri

  def custom(self, key: str, prop: str) -> Any:
    return _value(self.outputs[key][0].custom_properties.get(prop))


def _value(value) -> Any:
  if value is None:
    return None
  return getattr(value, value.WhichOneof('value'))


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
  if not os.path.isfile(metadata_path):
    raise FileNotFoundError(f'{metadata_path}: no metadata store (has the pipeline run here?)')
  config = metadata_store_pb2.ConnectionConfig()
  config.sqlite.filename_uri = metadata_path
  config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
  return metadata_store.MetadataStore(config)


def latest_run(metadata_path: str) -> Dict[str, NodeRun]:
  """node id -> NodeRun for the newest pipeline run in the store."""
  store = open_store(metadata_path)
  runs = store.get_contexts_by_type('pipeline_run')
  if not runs:
    return {}
  run = max(runs, key=lambda c: c.id)
  nodes: Dict[str, NodeRun] = {}
  for execution in store.get_executions_by_context(run.id):
    node_id = next(c.name.split('.', 1)[1] for c in store.get_contexts_by_execution(execution.id)
                   if c.type == 'node')
    outputs: Dict[str, List[metadata_store_pb2.Artifact]] = {}
    events = [e for e in store.get_events_by_execution_ids([execution.id])
              if e.type in (metadata_store_pb2.Event.OUTPUT,
                            metadata_store_pb2.Event.DECLARED_OUTPUT)]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    for event in events:
      key = event.path.steps[0].key if event.path.steps else ''
      outputs.setdefault(key, []).append(artifacts[event.artifact_id])
    nodes[node_id] = NodeRun(
        node_id, metadata_store_pb2.Execution.State.Name(execution.last_known_state), outputs)
  return nodes


def read_best_hyperparameters(hyperparameters_uri: str) -> Dict[str, Any]:
  """The best values, as the model used them (active values only)."""
  return active_values_of_config(files.read_best_hyperparameters(hyperparameters_uri))


def count_trials(tuner_results_uri: str) -> int:
  return files.count_trials(files.search_dir_of(tuner_results_uri))


def evaluation_values(evaluation_uri: str) -> Dict[str, Optional[float]]:
  """The candidate model's test metrics (not the baseline's, not the diff), read once: accuracy,
  balanced accuracy and (two classes) AUC of a classification, RMSE and MAE of a regression;
  None where absent."""
  from tfx_hypertune.components import evaluator  # loads TFMA
  metrics = evaluator.overall_metrics(evaluation_uri)
  fields = {'accuracy': evaluator.ACCURACY_KEY,
            'balanced_accuracy': evaluator.BALANCED_ACCURACY_KEY, 'auc': evaluator.AUC_KEY,
            'rmse': evaluator.RMSE_KEY, 'mae': evaluator.MAE_KEY}
  return {field: metrics.get(key, (None, None))[0] for field, key in fields.items()}


@dataclasses.dataclass
class RunSummary:
  best_hyperparameters: Dict[str, Any]
  trials: int
  accuracy: Optional[float]
  blessed: bool
  pushed_to: Optional[str]
  pipeline_root: str
  trials_dir: str
  cached: List[str]
  hyperparameters_source: Optional[str] = None
  span: Optional[int] = None
  blessing_rule: Optional[str] = None
  rmse: Optional[float] = None  # regression only
  mae: Optional[float] = None
  clock: Optional[str] = None  # what the search's clock did, when it had one
  selection: Optional[str] = None  # why the Trainer got another trial than the best
  balanced_accuracy: Optional[float] = None  # classification; AUC for two classes
  auc: Optional[float] = None

  @property
  def task(self) -> str:
    return 'regression' if self.rmse is not None else 'classification'

  def lines(self) -> List[str]:
    hp = self.best_hyperparameters
    report_path = files.join(self.trials_dir, files.REPORT_HTML)
    if self.task == 'regression':
      quality = (f'test RMSE:            {self.rmse:.4f}, MAE {self.mae:.4f} (held-out split, '
                 f'TFMA; in the label\'s units)')
    else:
      accuracy = f'{self.accuracy:.4f}' if self.accuracy is not None else 'n/a'
      others = ''.join(f', {name} {value:.4f}' for name, value in (
          ('balanced accuracy', self.balanced_accuracy), ('AUC', self.auc)) if value is not None)
      quality = f'test accuracy:        {accuracy}{others} (held-out split, TFMA)'
    return [
        f'task:                 {self.task}',
        f'best hyperparameters: {json.dumps(readable(hp))}',
        f'hyperparameters from: {self.hyperparameters_source or "search"}',
        f'trials run:           {self.trials}',
    ] + ([f'search clock:         {self.clock}'] if self.clock else []) + (
        [f'chosen trial:         {self.selection}'] if self.selection else []) + [
        quality,
        f'blessed:              {self.blessing_rule or ("yes" if self.blessed else "no")}',
        f'pushed model:         {self.pushed_to or "not pushed"}',
        f'run artifacts:        {self.pipeline_root}',
        f'trial results:        {self.trials_dir}',
    ] + ([f'trial report:         {report_path}'] if os.path.isfile(report_path) else []) + (
        [f'data span:            {self.span}'] if self.span is not None else []) + (
        [f'reused from cache:    {", ".join(self.cached)}'] if self.cached else [])


def readable(values: Dict[str, Any]) -> Dict[str, Any]:
  """Floats at 6 significant digits: Keras Tuner's float steps leave sums such as
  0.30000000000000004 (0.1 * 3), which are 0.3 to a reader."""
  return {k: float(f'{v:.6g}') if isinstance(v, float) else v for k, v in values.items()}


def summarize(metadata_path: str, pipeline_root: str) -> RunSummary:
  nodes = latest_run(metadata_path)
  tuner, evaluator, pusher = nodes['Tuner'], nodes['Evaluator'], nodes['Pusher']
  pushed = pusher.custom('pushed_model', 'pushed') == 1
  info = search_info.read(tuner.uri('tuner_results'))
  return RunSummary(
      best_hyperparameters=read_best_hyperparameters(tuner.uri('best_hyperparameters')),
      trials=count_trials(tuner.uri('tuner_results')),
      blessed=evaluator.custom('blessing', 'blessed') == 1,
      pushed_to=pusher.custom('pushed_model', 'pushed_destination') if pushed else None,
      pipeline_root=pipeline_root,
      trials_dir=tuner.uri('tuner_results'),
      cached=sorted(n for n, r in nodes.items() if r.state == 'CACHED'),
      hyperparameters_source=tuner.custom('best_hyperparameters', spec.SOURCE_PROPERTY),
      span=nodes['CsvExampleGen'].custom('examples', 'span'),
      blessing_rule=evaluator.custom('blessing', 'blessing_rule'),
      clock=clock_line(info),
      selection=selection_line(info),
      **evaluation_values(evaluator.uri('evaluation')),
  )


def selection_line(info: search_info.SearchInfo) -> Optional[str]:
  """Why the Trainer got the trial it got, when the rule was not simply the best."""
  choice = info.selection or {}
  return choice.get('reason') if choice.get('rule', 'best') != 'best' else None


def clock_line(info: search_info.SearchInfo) -> Optional[str]:
  """What the search's clock (search.max_minutes) did, in words; None without a clock."""
  minutes = info.max_minutes
  if not minutes:
    return None
  if not info.stopped_by_clock:
    return f'{minutes:g} minutes; the search finished within it'
  return (f'{minutes:g} minutes: the clock ended the search; '
          f'{info.planned_trials_not_run or "some"} planned trial(s) did not run '
          f'(a later run with more minutes resumes it)')
