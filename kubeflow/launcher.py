"""Runs a compiled pipeline (the PipelineJob JSON of `hypertune compile`) on this machine the
way the KFP v2 launcher runs it in a cluster, so the compiled spec itself is what gets tested.

For each task, in dependency order:
- a container task: build the ExecutorInput from the spec (input artifacts from upstream
  outputs, output URIs under the pipeline root, parameters from constants or the run's
  runtime parameters), substitute it for `{{$}}` in the container's args, run the lifecycle
  pre-cache-check (ExampleGen's span driver) and then the container's command as a
  subprocess, and read the executor's output metadata back;
- a resolver task: answer its artifact queries (e.g. the latest blessed model) from the
  artifacts earlier runs produced, which the cluster would ask ML Metadata for.

What differs from a cluster, on purpose: the command runs with this interpreter instead of
inside the image (`python` -> sys.executable; the image installs the same lock file), tasks
run one at a time, and nothing is cached. The artifact listing lives in
<pipeline_root>/local_launcher/artifacts.json.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

import yaml

from pipeline import config as config_lib

STORE_DIR = 'local_launcher'
PLACEHOLDER_ALL = '{{$}}'
_INPUT_METADATA = re.compile(
    r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.metadata\['([^']+)'\]\}\}")


class LaunchError(ValueError):
  """Bad input (file, parameter, root): the message names it. Nothing has run."""


class TaskFailedError(RuntimeError):
  """A task's container exited with an error; the message names the task and its log."""


@dataclasses.dataclass
class Artifact:
  name: str
  artifact_type: Dict[str, Any]  # the spec's artifactType: {instanceSchema: ...}
  uri: str
  metadata: Dict[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def schema_title(self) -> str:
    if 'schemaTitle' in self.artifact_type:
      return self.artifact_type['schemaTitle']
    return (yaml.safe_load(self.artifact_type.get('instanceSchema', '')) or {}).get('title', '')

  def runtime_artifact(self) -> Dict[str, Any]:
    return {'name': self.name, 'uri': self.uri, 'type': self.artifact_type,
            'metadata': self.metadata}


class ArtifactStore:
  """Every artifact that successful tasks produced, oldest first: what resolvers query."""

  def __init__(self, pipeline_root: str):
    self._path = os.path.join(pipeline_root, STORE_DIR, 'artifacts.json')
    self.artifacts: List[Artifact] = []
    if os.path.isfile(self._path):
      with open(self._path) as f:
        self.artifacts = [Artifact(**a) for a in json.load(f)]

  def add(self, artifacts: List[Artifact]) -> None:
    self.artifacts += artifacts
    os.makedirs(os.path.dirname(self._path), exist_ok=True)
    with open(self._path + '.tmp', 'w') as f:
      json.dump([dataclasses.asdict(a) for a in self.artifacts], f, indent=1)
    os.replace(self._path + '.tmp', self._path)  # a killed launcher never leaves half a file

  def latest(self, query: str, inputs: Mapping[str, List[Artifact]]) -> List[Artifact]:
    """The newest artifact matching a KFP resolver filter such as
    `schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1`."""
    try:
      query = _INPUT_METADATA.sub(lambda m: _input_metadata(inputs, m[1], m[2]), query)
    except KeyError:
      return []  # the query refers to an input that resolved to nothing
    clauses = [_parse_clause(c) for c in query.split(' AND ')]
    for artifact in reversed(self.artifacts):
      if all(clause(artifact) for clause in clauses):
        return [artifact]
    return []


def _input_metadata(inputs: Mapping[str, List[Artifact]], key: str, field: str) -> str:
  artifacts = inputs.get(key) or []
  if not artifacts or field not in artifacts[0].metadata:
    raise KeyError(field)
  return str(artifacts[0].metadata[field])


def _parse_clause(clause: str) -> Callable[[Artifact], bool]:
  key, _, value = clause.strip().partition('=')
  value = value.strip().strip('"')
  if key == 'schema_title':
    return lambda a: a.schema_title == value
  if key == 'state':
    return lambda a: value == 'LIVE'  # the store holds only artifacts of successful tasks
  if key == 'name':
    return lambda a: a.name == value
  field = re.fullmatch(r'metadata\.([\w-]+)\.(number_value|string_value)', key)
  if field:
    name, kind = field.groups()
    if kind == 'number_value':
      return lambda a: config_lib.is_number(a.metadata.get(name)) and float(
          a.metadata[name]) == float(value)
    return lambda a: str(a.metadata.get(name)) == value
  raise LaunchError(f'resolver query clause {clause!r}: not supported by the local launcher')


# ---------------------------------------------------------------------------------------------
# The run


@dataclasses.dataclass
class LaunchResult:
  run_id: str
  run_dir: str
  parameters: Dict[str, Any]
  outputs: Dict[str, Dict[str, List[Artifact]]]  # task -> output key -> artifacts
  seconds: Dict[str, float]


def load_job(path: str) -> Dict[str, Any]:
  """A PipelineJob JSON (with runtimeConfig) or a pipeline spec YAML."""
  if not os.path.isfile(path):
    raise LaunchError(f'{path}: no such compiled pipeline')
  with open(path) as f:
    loaded = json.load(f) if path.endswith('.json') else yaml.safe_load(f)
  if not isinstance(loaded, dict) or not ('pipelineSpec' in loaded or 'root' in loaded):
    raise LaunchError(f'{path}: not a compiled pipeline (no pipelineSpec or root)')
  return loaded if 'pipelineSpec' in loaded else {'pipelineSpec': loaded, 'runtimeConfig': {}}


def launch(job_path: str, *, pipeline_root: Optional[str] = None,
           parameters: Optional[Mapping[str, Any]] = None,
           log: Callable[[str], None] = print) -> LaunchResult:
  job = load_job(job_path)
  spec = job['pipelineSpec']
  root = pipeline_root or job.get('runtimeConfig', {}).get('gcsOutputDirectory')
  if not root or '://' in root:
    raise LaunchError(f'pipeline root {root!r}: the local launcher needs a local folder '
                      '(pass --pipeline-root)')
  values = run_parameters(spec, job.get('runtimeConfig', {}), parameters or {})
  run_id = f'{spec["pipelineInfo"]["name"]}-{time.strftime("%Y%m%d-%H%M%S")}'
  run_dir = os.path.join(os.path.abspath(root), run_id)
  store = ArtifactStore(os.path.abspath(root))
  tasks = spec['root']['dag']['tasks']
  order = topological_order(tasks)
  outputs: Dict[str, Dict[str, List[Artifact]]] = {}
  seconds: Dict[str, float] = {}
  log(f'[launcher] run {run_id}: {len(order)} tasks; parameters {json.dumps(values)}')
  started = time.monotonic()
  for number, task_name in enumerate(order, 1):
    task_started = time.monotonic()
    log(f'[launcher] task {number}/{len(order)}: {task_name} '
        f'({task_started - started:.0f}s elapsed)')
    runner = _TaskRunner(spec, task_name, run_dir, values, outputs, store, log)
    outputs[task_name] = runner.run()
    seconds[task_name] = time.monotonic() - task_started
    if not runner.is_resolver:
      store.add([a for artifacts in outputs[task_name].values() for a in artifacts])
  log(f'[launcher] run {run_id} finished in {time.monotonic() - started:.0f}s')
  return LaunchResult(run_id, run_dir, values, outputs, seconds)


def run_parameters(spec: Dict[str, Any], runtime_config: Dict[str, Any],
                   overrides: Mapping[str, Any]) -> Dict[str, Any]:
  """Each runtime parameter's value: the override, else the job's, else the spec default."""
  definitions = parameter_definitions(spec)
  overrides = checked_overrides(spec, overrides)
  values = {}
  for name, definition in definitions.items():
    value = overrides.get(name, runtime_config.get('parameterValues', {}).get(
        name, definition.get('defaultValue')))
    if value is None:
      raise LaunchError(f'parameter {name}: no value given and no default')
    values[name] = coerce_parameter(name, definition['parameterType'], value)
  return values


def parameter_definitions(spec: Dict[str, Any]) -> Dict[str, Any]:
  return spec['root'].get('inputDefinitions', {}).get('parameters', {})


def checked_overrides(spec: Dict[str, Any], overrides: Mapping[str, Any]) -> Dict[str, Any]:
  """Overrides by runtime parameter name, each converted to its declared type."""
  definitions = parameter_definitions(spec)
  for name in overrides:
    if name not in definitions:
      raise LaunchError(f'parameter {name}: not a runtime parameter of this pipeline '
                        f'(it has: {", ".join(sorted(definitions)) or "none"})')
  return {name: coerce_parameter(name, definitions[name]['parameterType'], value)
          for name, value in overrides.items()}


def coerce_parameter(name: str, parameter_type: str, value: Any) -> Any:
  try:
    if parameter_type == 'NUMBER_INTEGER':
      number = float(value)
      if not number.is_integer():
        raise ValueError
      return int(number)
    if parameter_type == 'NUMBER_DOUBLE':
      return float(value)
    if parameter_type == 'STRING':
      return str(value)
  except ValueError:
    raise LaunchError(f'parameter {name}: {value!r} is not a {parameter_type.lower()}') from None
  raise LaunchError(f'parameter {name}: type {parameter_type} not supported')


def topological_order(tasks: Dict[str, Any]) -> List[str]:
  """Tasks after everything they depend on (explicitly or through an input artifact); ties
  in name order, so a run is reproducible."""
  upstream = {name: set(task.get('dependentTasks', [])) | {
      ref['taskOutputArtifact']['producerTask']
      for ref in task.get('inputs', {}).get('artifacts', {}).values()
      if 'taskOutputArtifact' in ref} for name, task in tasks.items()}
  order: List[str] = []
  while len(order) < len(tasks):
    ready = sorted(n for n in tasks if n not in order and upstream[n] <= set(order))
    if not ready:
      raise LaunchError(f'tasks {sorted(set(tasks) - set(order))}: a dependency cycle')
    order.append(ready[0])
  return order


class _TaskRunner:
  """Builds one task's ExecutorInput and runs it (container) or answers it (resolver)."""

  def __init__(self, spec, task_name, run_dir, values, outputs, store, log):
    self.task = spec['root']['dag']['tasks'][task_name]
    self.name = task_name
    self.component = spec['components'][self.task['componentRef']['name']]
    self.executor = spec['deploymentSpec']['executors'][self.component['executorLabel']]
    self.task_dir = os.path.join(run_dir, task_name)
    self.values, self.outputs, self.store, self.log = values, outputs, store, log
    self.is_resolver = 'resolver' in self.executor

  def run(self) -> Dict[str, List[Artifact]]:
    inputs = self._input_artifacts()
    if self.is_resolver:
      return self._resolve(inputs)
    if 'container' not in self.executor:
      raise LaunchError(f'task {self.name}: executor kind {sorted(self.executor)} is not '
                        'supported by the local launcher')
    return self._run_container(inputs)

  def _input_artifacts(self) -> Dict[str, List[Artifact]]:
    result = {}
    for key, ref in self.task.get('inputs', {}).get('artifacts', {}).items():
      producer = ref['taskOutputArtifact']
      result[key] = self.outputs[producer['producerTask']].get(
          producer['outputArtifactKey'], [])
    return result

  def _parameters(self) -> Dict[str, Any]:
    result = {}
    for key, ref in self.task.get('inputs', {}).get('parameters', {}).items():
      if 'componentInputParameter' in ref:
        result[key] = self.values[ref['componentInputParameter']]
      elif 'runtimeValue' in ref:
        result[key] = ref['runtimeValue'].get('constant')
      else:
        raise LaunchError(f'task {self.name}: parameter {key}: {sorted(ref)} not supported')
    return result

  def _resolve(self, inputs: Dict[str, List[Artifact]]) -> Dict[str, List[Artifact]]:
    result = {}
    for key, query in self.executor['resolver']['outputArtifactQueries'].items():
      result[key] = self.store.latest(query['filter'], inputs)
      self.log(f'[launcher]   {key}: '
               f'{result[key][0].uri if result[key] else "nothing yet (first run)"}')
    return result

  def _run_container(self, inputs: Dict[str, List[Artifact]]) -> Dict[str, List[Artifact]]:
    outputs = {
        key: [Artifact(name=f'local/{os.path.basename(os.path.dirname(self.task_dir))}/'
                            f'{self.name}/{key}',
                       artifact_type=definition['artifactType'],
                       uri=os.path.join(self.task_dir, key))]
        for key, definition in self.component.get('outputDefinitions', {}).get(
            'artifacts', {}).items()}
    output_file = os.path.join(self.task_dir, 'executor_output.json')
    executor_input = {
        'inputs': {'artifacts': {k: {'artifacts': [a.runtime_artifact() for a in v]}
                                 for k, v in inputs.items()},
                   'parameterValues': self._parameters()},
        'outputs': {'artifacts': {k: {'artifacts': [a.runtime_artifact() for a in v]}
                                  for k, v in outputs.items()},
                    'outputFile': output_file},
    }
    os.makedirs(self.task_dir, exist_ok=True)
    container = self.executor['container']
    pre_cache_check = container.get('lifecycle', {}).get('preCacheCheck')
    if pre_cache_check:  # ExampleGen's driver: resolves the span, writes output_file
      self._execute('driver', pre_cache_check['command'], pre_cache_check['args'],
                    executor_input)
      # As the KFP launcher does: the driver's view of the outputs (span, version,
      # fingerprint) is what the executor gets.
      _read_executor_output(output_file, outputs)
      for key, artifacts in outputs.items():
        executor_input['outputs']['artifacts'][key] = {
            'artifacts': [a.runtime_artifact() for a in artifacts]}
    self._execute('executor', container['command'], container['args'], executor_input)
    return _read_executor_output(output_file, outputs)

  def _execute(self, what: str, command: List[str], args: List[str],
               executor_input: Dict[str, Any]) -> None:
    serialized = json.dumps(executor_input)
    argv = [sys.executable if c == 'python' else c for c in command] + [
        a.replace(PLACEHOLDER_ALL, serialized) for a in args]
    log_path = os.path.join(self.task_dir, f'{what}.log')
    with open(log_path, 'w') as log_file:
      code = subprocess.call(argv, stdout=log_file, stderr=subprocess.STDOUT,
                             cwd=self.task_dir, env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
    if code != 0:
      with open(log_path) as f:
        tail = ''.join(f.readlines()[-15:])
      raise TaskFailedError(f'task {self.name}: the {what} exited with status {code}; '
                        f'log: {log_path}\n{tail}')


def _read_executor_output(path: str,
                          outputs: Dict[str, List[Artifact]]) -> Dict[str, List[Artifact]]:
  """The executor's view of its outputs (custom properties such as `blessed` arrive here)."""
  if not os.path.isfile(path):
    return outputs
  with open(path) as f:
    written = json.load(f).get('artifacts', {})
  for key, artifacts in outputs.items():
    reported = written.get(key, {}).get('artifacts', [])
    if reported:
      artifacts[0].metadata.update(reported[0].get('metadata', {}))
  return outputs
