"""Runs a compiled pipeline on this machine the way a KFP v2 backend runs it in a cluster, so
the compiled spec itself is what gets tested.

The file says which backend to act as:
- a pipeline spec YAML (`hypertune compile --target kfp`): the open-source KFP 2.x backend. As
  its driver and launcher do, upstream input artifacts reach a task with an empty type schema,
  no lifecycle hook (`preCacheCheck`) runs, and resolver or importer executors are refused
  (its workflow compiler rejects them: kubeflow/README.md);
- a PipelineJob JSON (`--target vertex`): Vertex AI Pipelines, which sends full artifact types
  and runs ExampleGen's `preCacheCheck` driver before the executor.

For each container task, in dependency order: build the ExecutorInput from the spec (input
artifacts from upstream outputs, output URIs under the pipeline root, parameters from constants
or the run's runtime parameters), substitute it for `{{$}}` in the container's args, run the
command as a subprocess, and read the executor's output metadata back. The pipeline root may be
a local folder or an object store (`s3://`, `minio://`: endpoint and credentials from the
environment, as in a pod); the output metadata file and the logs stay on local disk, as KFP
keeps them in the pod.

What differs from a cluster, on purpose: the command runs with this interpreter instead of
inside the image (`python` -> sys.executable; the image installs the same lock file, and its
/app is this repository), tasks run one at a time, and nothing is cached.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

import yaml

from tfx_hypertune.kubeflow import targets
from tfx_hypertune.pipeline import config as config_lib

PLACEHOLDER_ALL = '{{$}}'
OBJECT_STORE_SCHEMES = ('s3://', 'minio://')
REPO_DIR = str(config_lib.REPO_ROOT)
IMAGE_APP_DIR = '/app'  # kubeflow/Dockerfile's WORKDIR: this repository inside the image


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

  def runtime_artifact(self, with_type: bool = True) -> Dict[str, Any]:
    # The open-source backend hands inputs over with an empty schema (with_type=False).
    return {'name': self.name, 'uri': self.uri,
            'type': self.artifact_type if with_type else {'instanceSchema': ''},
            'metadata': self.metadata}


# ---------------------------------------------------------------------------------------------
# The run


@dataclasses.dataclass
class LaunchResult:
  run_id: str
  run_dir: str      # under the pipeline root: local folder or object store URI
  log_dir: str      # local: each task's logs and output metadata file
  backend: str
  parameters: Dict[str, Any]
  outputs: Dict[str, Dict[str, List[Artifact]]]  # task -> output key -> artifacts
  seconds: Dict[str, float]


def load_job(path: str) -> Dict[str, Any]:
  """A PipelineJob JSON (with runtimeConfig: Vertex) or a pipeline spec YAML (open-source
  KFP), as {'pipelineSpec', 'runtimeConfig', 'backend'}."""
  if not os.path.isfile(path):
    raise LaunchError(f'{path}: no such compiled pipeline')
  try:
    with open(path) as f:
      loaded = json.load(f) if path.endswith('.json') else yaml.safe_load(f)
  except (ValueError, yaml.YAMLError) as e:
    reason = ' '.join(str(e).split())
    raise LaunchError(f'{path}: not a compiled pipeline ({reason})') from None
  if not isinstance(loaded, dict) or not ('pipelineSpec' in loaded or 'root' in loaded):
    raise LaunchError(f'{path}: not a compiled pipeline (no pipelineSpec or root)')
  if 'pipelineSpec' in loaded:
    return {**loaded, 'runtimeConfig': loaded.get('runtimeConfig', {}), 'backend': targets.VERTEX}
  return {'pipelineSpec': loaded, 'runtimeConfig': {}, 'backend': targets.KFP}


def pipeline_root_of(job: Dict[str, Any], override: Optional[str]) -> str:
  root = (override or job['runtimeConfig'].get('gcsOutputDirectory')
          or job['pipelineSpec'].get('defaultPipelineRoot'))
  if not root:
    raise LaunchError('pipeline root: none compiled in; pass --pipeline-root')
  if '://' in root and not root.startswith(OBJECT_STORE_SCHEMES):
    raise LaunchError(f'pipeline root {root}: this machine can reach a local folder or '
                      f'{" or ".join(OBJECT_STORE_SCHEMES)} (endpoint from S3_ENDPOINT); '
                      'pass --pipeline-root')
  return root.rstrip('/') if '://' in root else os.path.abspath(root)


def launch(job_path: str, *, pipeline_root: Optional[str] = None,
           parameters: Optional[Mapping[str, Any]] = None,
           log: Callable[[str], None] = print,
           environment: Optional[Mapping[str, str]] = None) -> LaunchResult:
  """Runs every task of the compiled pipeline at `job_path`; `environment` (default: this
  process's) is what each task's container would have, e.g. S3_ENDPOINT and credentials."""
  job = load_job(job_path)
  spec, backend = job['pipelineSpec'], job['backend']
  root = pipeline_root_of(job, pipeline_root)
  values = run_parameters(spec, job['runtimeConfig'], parameters or {})
  tasks = spec['root']['dag']['tasks']
  order = topological_order(tasks)
  for task_name in order:
    refuse_unsupported_executor(spec, task_name)
  run_id = f'{spec["pipelineInfo"]["name"]}-{time.strftime("%Y%m%d-%H%M%S")}'
  run_dir = posixpath.join(root, run_id)
  log_dir = run_dir if '://' not in root else os.path.join(
      tempfile.gettempdir(), 'hypertune-launch', run_id)
  outputs: Dict[str, Dict[str, List[Artifact]]] = {}
  seconds: Dict[str, float] = {}
  log(f'[launcher] run {run_id} as {backend} would: {len(order)} tasks; '
      f'parameters {json.dumps(values)}; logs in {log_dir}')
  started = time.monotonic()
  for number, task_name in enumerate(order, 1):
    task_started = time.monotonic()
    log(f'[launcher] task {number}/{len(order)}: {task_name} '
        f'({task_started - started:.0f}s elapsed)')
    task = _TaskRunner(spec, task_name, backend, run_dir, log_dir, values, outputs,
                       dict(os.environ if environment is None else environment))
    outputs[task_name] = task.run()
    seconds[task_name] = time.monotonic() - task_started
  log(f'[launcher] run {run_id} finished in {time.monotonic() - started:.0f}s')
  return LaunchResult(run_id, run_dir, log_dir, backend, values, outputs, seconds)


def refuse_unsupported_executor(spec: Dict[str, Any], task_name: str) -> None:
  """Before anything runs: a task that is not a container fails the launch, as the
  open-source backend fails such a run at creation."""
  component = spec['components'][spec['root']['dag']['tasks'][task_name]['componentRef']['name']]
  kinds = sorted(spec['deploymentSpec']['executors'][component['executorLabel']])
  if kinds != ['container']:
    raise LaunchError(f'task {task_name}: a {"/".join(kinds)} executor; only containers run '
                      f'here (open-source KFP rejects resolvers: "resolver executors not '
                      f'implemented"); recompile with `hypertune compile`')


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
  """Builds one container task's ExecutorInput and runs its command."""

  def __init__(self, spec, task_name, backend, run_dir, log_dir, values, outputs, environment):
    self.task = spec['root']['dag']['tasks'][task_name]
    self.name = task_name
    self.component = spec['components'][self.task['componentRef']['name']]
    self.container = spec['deploymentSpec']['executors'][
        self.component['executorLabel']]['container']
    self.backend = backend
    self.artifact_dir = posixpath.join(run_dir, task_name)
    self.log_dir = os.path.join(log_dir, task_name)
    self.values, self.outputs, self.environment = values, outputs, environment

  def run(self) -> Dict[str, List[Artifact]]:
    inputs = self._input_artifacts()
    outputs = {
        key: [Artifact(name=f'local/{posixpath.basename(posixpath.dirname(self.artifact_dir))}'
                            f'/{self.name}/{key}',
                       artifact_type=definition['artifactType'],
                       uri=posixpath.join(self.artifact_dir, key))]
        for key, definition in self.component.get('outputDefinitions', {}).get(
            'artifacts', {}).items()}
    output_file = os.path.join(self.log_dir, 'executor_output.json')
    # Vertex sends each input's type; the open-source backend an empty schema.
    with_type = self.backend == targets.VERTEX
    executor_input = {
        'inputs': {'artifacts': {k: {'artifacts': [a.runtime_artifact(with_type) for a in v]}
                                 for k, v in inputs.items()},
                   'parameterValues': self._parameters()},
        'outputs': {'artifacts': {k: {'artifacts': [a.runtime_artifact() for a in v]}
                                  for k, v in outputs.items()},
                    'outputFile': output_file},
    }
    os.makedirs(self.log_dir, exist_ok=True)
    pre_cache_check = self.container.get('lifecycle', {}).get('preCacheCheck')
    if pre_cache_check and self.backend == targets.VERTEX:
      # ExampleGen's driver: resolves the span, writes output_file. As Vertex does, the
      # driver's view of the outputs (span, version, fingerprint) is what the executor gets.
      self._execute('driver', pre_cache_check['command'], pre_cache_check['args'],
                    executor_input)
      _read_executor_output(output_file, outputs)
      for key, artifacts in outputs.items():
        executor_input['outputs']['artifacts'][key] = {
            'artifacts': [a.runtime_artifact() for a in artifacts]}
    self._execute('executor', self.container['command'], self.container['args'],
                  executor_input)
    return _read_executor_output(output_file, outputs)

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
        result[key] = in_this_repo(self.values[ref['componentInputParameter']])
      elif 'runtimeValue' in ref:
        result[key] = in_this_repo(ref['runtimeValue'].get('constant'))
      else:
        raise LaunchError(f'task {self.name}: parameter {key}: {sorted(ref)} not supported')
    return result

  def _execute(self, what: str, command: List[str], args: List[str],
               executor_input: Dict[str, Any]) -> None:
    serialized = json.dumps(executor_input)
    argv = [sys.executable if c == 'python' else c for c in command] + [
        a.replace(PLACEHOLDER_ALL, serialized) for a in args]
    log_path = os.path.join(self.log_dir, f'{what}.log')
    with open(log_path, 'w') as log_file:
      code = subprocess.call(argv, stdout=log_file, stderr=subprocess.STDOUT,
                             cwd=self.log_dir,
                             env={**self.environment, 'TF_CPP_MIN_LOG_LEVEL': '2',
                                  'PYTHONPATH': os.pathsep.join(filter(None, [
                                      REPO_DIR, self.environment.get('PYTHONPATH')]))})
    if code != 0:
      with open(log_path) as f:
        tail = ''.join(f.readlines()[-15:])
      raise TaskFailedError(f'task {self.name}: the {what} exited with status {code}; '
                            f'log: {log_path}\n{tail}')


def in_this_repo(value: Any) -> Any:
  """A compiled-in path inside the image (/app/...) as the same file of this repository,
  which is what the image holds."""
  if isinstance(value, str) and value.startswith(IMAGE_APP_DIR + '/'):
    return os.path.join(REPO_DIR, value[len(IMAGE_APP_DIR) + 1:])
  return value


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
