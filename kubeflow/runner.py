"""Compiles the same create_pipeline(config) for Kubeflow Pipelines (KFP v2 IR) with TFX's
KubeflowV2DagRunner, for open-source KFP 2.x (`--target kfp`, the default) or Vertex AI
Pipelines (`--target vertex`). Nothing is re-wired: only the orchestrator, the paths and the
image change, and the pipeline has no Resolver nodes (pipeline/pipeline.py), so every task is a
container.

Every task runs `python -m tfx_hypertune.kubeflow.entrypoint` (TFX's v2 executor entrypoint
behind a shim
for the open-source backend: kubeflow/entrypoint.py) in the image built from
kubeflow/Dockerfile, where this package is installed; user functions are dotted paths into it,
so they resolve there as they do locally.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from typing import Any, Dict, Optional

import yaml

from tfx_hypertune.kubeflow import launcher
from tfx_hypertune.kubeflow import targets
from tfx_hypertune.pipeline.config import Config

DEFAULT_IMAGE = 'tfx-hypertune:latest'


# Runtime parameters: the values a run (or a recurring run) may set without recompiling,
# by these names (`hypertune submit --param max_epochs=5`); defaults come from the config.
PARAMETER_TYPES = {'data_uri': str, 'max_epochs': int, 'max_trials': int, 'max_minutes': float,
                   'accuracy_threshold': float, 'span_window': int}


def runtime_parameters(defaults: Dict[str, Any]):
  """RunValues of RuntimeParameters with these defaults (see parameter_defaults)."""
  from tfx import v1 as tfx
  from tfx_hypertune.pipeline.pipeline import RunValues
  return RunValues(**{
      name: (tfx.dsl.experimental.RuntimeParameter(name=name, ptype=ptype,
                                                   default=defaults[name])
             if name in defaults else None)  # span_window: only for span folders
      for name, ptype in PARAMETER_TYPES.items()})


def parameter_defaults(config: Config) -> Dict[str, Any]:
  from tfx_hypertune.pipeline.pipeline import RunValues
  values = dataclasses.asdict(RunValues.of(config))
  return {name: value for name, value in values.items() if value is not None}


TARGETS = targets.TARGETS
# Where kubeflow/Dockerfile puts this repository (its WORKDIR): bundled data and curated
# schemas are compiled in as paths inside the image, never as this machine's paths; the
# launcher maps them back (launcher.in_this_repo).
IMAGE_APP_DIR, REPO_DIR = launcher.IMAGE_APP_DIR, launcher.REPO_DIR
# Every task's command: TFX's v2 entrypoint behind kubeflow/entrypoint.py, which fills in what
# the open-source backend leaves out (input types, minio://, ExampleGen's driver).
ENTRYPOINT_COMMAND = ['python', '-m', 'tfx_hypertune.kubeflow.entrypoint']
# The artifact root of a default open-source KFP install (its MinIO bucket).
DEFAULT_KFP_ROOT = 'minio://mlpipeline/v2/artifacts'
ROOT_SCHEMES = {targets.KFP: ('minio://', 's3://', 'gs://'), targets.VERTEX: ('gs://',)}


class CompileError(ValueError):
  """A setting the target cannot run with; the message names it."""


def default_pipeline_root(target: str, pipeline_name: str) -> str:
  if target == targets.VERTEX:
    raise CompileError('--pipeline-root: required for --target vertex (a gs:// folder, e.g. '
                       'gs://my-bucket/hypertune)')
  return f'{DEFAULT_KFP_ROOT}/{pipeline_name}'


def check_pipeline_root(target: str, root: str) -> None:
  """A root the target's backend can write: an object store URI, or a local absolute folder
  (only `hypertune launch` on this machine can use that)."""
  if '://' in root:
    if not root.startswith(ROOT_SCHEMES[target]):
      raise CompileError(f'--pipeline-root {root}: --target {target} needs a '
                         f'{" or ".join(ROOT_SCHEMES[target])} URI')
  elif not os.path.isabs(root):
    raise CompileError(f'--pipeline-root {root}: give a bucket URI '
                       f'({", ".join(ROOT_SCHEMES[target])}) or an absolute local folder')


def in_image(path: Optional[str], setting: str) -> Optional[str]:
  """A local path of this repo as the same path inside the image; URIs unchanged; any
  other local path is an error (a pod cannot read this machine's disk)."""
  if not path or '://' in path:
    return path
  absolute = os.path.abspath(path)
  if os.path.commonpath([absolute, REPO_DIR]) != REPO_DIR:
    raise CompileError(f'{setting} {path}: a folder on this machine, which the cluster cannot '
                       f'read: pass a bucket URI (s3://, minio://, gs://), or put it under '
                       f'{os.path.join(REPO_DIR, "data")} so the image holds it')
  return posixpath.join(IMAGE_APP_DIR, os.path.relpath(absolute, REPO_DIR))


def for_the_image(config: Config) -> Config:
  """The config with its data paths as the image sees them. What was found on this machine
  (a schema.pbtxt beside the data, span folders) is decided here, before the paths move."""
  data = config.data
  data = dataclasses.replace(data, path=in_image(data.path, '--data'),
                             schema=in_image(data.schema_path, '--schema'),
                             span_window=data.window_size)
  return dataclasses.replace(config, data=data)


def compile_pipeline(config: Config, *, image: str, pipeline_root: Optional[str],
                     output_dir: str, target: str = targets.KFP) -> str:
  """Compiles for `target` and returns the file's path:
  - kfp: <output_dir>/<pipeline_name>.yaml, the pipeline spec `kfp.Client` uploads;
  - vertex: <output_dir>/<pipeline_name>.json, the PipelineJob `aiplatform.PipelineJob` takes.
  Both run every task in `image` through kubeflow/entrypoint.py; neither has a resolver."""
  # Late imports: TFX is heavy, and `hypertune --help` should not wait for it.
  from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
  from tfx_hypertune.pipeline.pipeline import create_pipeline

  if target not in TARGETS:
    raise CompileError(f'--target {target}: choose one of {", ".join(TARGETS)}')
  root = (pipeline_root or default_pipeline_root(target, config.pipeline_name)).rstrip('/')
  check_pipeline_root(target, root)
  config = for_the_image(config)
  defaults = parameter_defaults(config)
  tfx_pipeline = create_pipeline(
      config, pipeline_root=root, serving_dir=f'{root}/serving',
      metadata_connection_config=None,  # KFP provides ML Metadata in the cluster
      run_values=runtime_parameters(defaults))
  runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
      config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
          display_name=config.pipeline_name, default_image=image,
          use_pipeline_spec_2_1=True),
      output_dir=output_dir, output_filename=f'{config.pipeline_name}.json')
  job: Dict = runner.run(tfx_pipeline, parameter_values=defaults, write_out=False)
  spec = job['pipelineSpec']
  # TFX puts the defaults only into the PipelineJob's runtimeConfig; the uploaded pipeline
  # spec needs them too, or every run would have to pass every parameter.
  for name, definition in spec['root']['inputDefinitions']['parameters'].items():
    definition['defaultValue'] = defaults[name]
  # Where a run writes when the submitter names no root (kfp.Client's pipeline_root wins).
  spec['defaultPipelineRoot'] = root
  for executor in spec['deploymentSpec']['executors'].values():
    container = executor.get('container')
    if container is None:
      raise CompileError(f'compiled a non-container executor {sorted(executor)}: '
                         'open-source KFP cannot run it')
    container['command'] = list(ENTRYPOINT_COMMAND)
    if target == targets.KFP:
      # The open-source backend never runs a lifecycle hook: the entrypoint runs ExampleGen's
      # driver instead. Vertex runs it, so the spec keeps it there.
      container.pop('lifecycle', None)
  os.makedirs(output_dir, exist_ok=True)
  if target == targets.KFP:
    path = os.path.join(output_dir, f'{config.pipeline_name}.yaml')
    with open(path, 'w') as f:
      yaml.safe_dump(spec, f, sort_keys=False)
  else:
    path = os.path.join(output_dir, f'{config.pipeline_name}.json')
    with open(path, 'w') as f:
      json.dump(job, f, indent=2, sort_keys=True)
  with open(os.path.join(output_dir, f'{config.pipeline_name}.config.json'), 'w') as f:
    json.dump(dataclasses.asdict(config), f, indent=1, default=str)
  return path
