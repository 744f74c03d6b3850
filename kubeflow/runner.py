"""Compiles the same create_pipeline(config) for Kubeflow Pipelines (KFP v2 IR) with TFX's
KubeflowV2DagRunner. Nothing is re-wired: only the orchestrator, the paths and the image change.

Every task runs `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor`
in the image built from kubeflow/Dockerfile, where this package is installed; user functions
are dotted paths into it, so they resolve there as they do locally.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, Tuple

import yaml

from pipeline.config import Config

DEFAULT_IMAGE = 'tfx-hypertune:latest'


# Runtime parameters: the values a run (or a recurring run) may set without recompiling,
# by these names (`hypertune submit --param max_epochs=5`); defaults come from the config.
PARAMETER_TYPES = {'data_uri': str, 'max_epochs': int, 'max_trials': int,
                   'accuracy_threshold': float, 'span_window': int}


def runtime_parameters(defaults: Dict[str, Any]):
  """RunValues of RuntimeParameters with these defaults (see parameter_defaults)."""
  from tfx import v1 as tfx  # pylint: disable=import-outside-toplevel
  from pipeline.pipeline import RunValues  # pylint: disable=import-outside-toplevel
  return RunValues(**{
      name: (tfx.dsl.experimental.RuntimeParameter(name=name, ptype=ptype,
                                                   default=defaults[name])
             if name in defaults else None)  # span_window: only for span folders
      for name, ptype in PARAMETER_TYPES.items()})


def parameter_defaults(config: Config) -> Dict[str, Any]:
  from pipeline.pipeline import RunValues  # pylint: disable=import-outside-toplevel
  values = dataclasses.asdict(RunValues.of(config))
  return {name: value for name, value in values.items() if value is not None}


def compile_pipeline(config: Config, *, image: str, pipeline_root: str,
                     output_dir: str) -> Tuple[str, str]:
  """Writes <output_dir>/<pipeline_name>.json (the PipelineJob the TFX runner emits) and
  <pipeline_name>.yaml (its pipelineSpec, the form `kfp.Client.upload_pipeline` takes).
  Returns both paths."""
  # Late imports: TFX is heavy, and `hypertune --help` should not wait for it.
  from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner  # pylint: disable=import-outside-toplevel
  from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (  # pylint: disable=import-outside-toplevel
      LatestBlessedModelStrategy)
  from pipeline.pipeline import create_pipeline  # pylint: disable=import-outside-toplevel

  defaults = parameter_defaults(config)
  tfx_pipeline = create_pipeline(
      config, pipeline_root=pipeline_root,
      serving_dir=os.path.join(pipeline_root, 'serving'),
      metadata_connection_config=None,  # KFP provides ML Metadata in the cluster
      baseline_strategy=LatestBlessedModelStrategy,
      run_values=runtime_parameters(defaults))
  runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
      config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
          display_name=config.pipeline_name, default_image=image,
          use_pipeline_spec_2_1=True),
      output_dir=output_dir, output_filename=f'{config.pipeline_name}.json')
  job: Dict = runner.run(tfx_pipeline, parameter_values=defaults, write_out=True)
  # TFX puts the defaults only into the PipelineJob's runtimeConfig; the uploaded pipeline
  # spec needs them too, or every run would have to pass every parameter.
  for name, definition in job['pipelineSpec']['root']['inputDefinitions']['parameters'].items():
    definition['defaultValue'] = defaults[name]
  json_path = os.path.join(output_dir, f'{config.pipeline_name}.json')
  yaml_path = os.path.join(output_dir, f'{config.pipeline_name}.yaml')
  with open(yaml_path, 'w') as f:
    yaml.safe_dump(job['pipelineSpec'], f, sort_keys=False)
  with open(os.path.join(output_dir, f'{config.pipeline_name}.config.json'), 'w') as f:
    json.dump(dataclasses.asdict(config), f, indent=1, default=str)
  return json_path, yaml_path
