"""`hypertune submit`: start a run, or create a recurring run, of a compiled pipeline.

- open-source Kubeflow Pipelines (the spec YAML of `compile --target kfp`): upload it through
  the kfp SDK client (KFP v2beta1 REST API), a new version each time, then run or schedule it;
- Vertex AI Pipelines (the PipelineJob JSON of `compile --target vertex`): through
  google-cloud-aiplatform's PipelineJob (`submit`, or `create_schedule`).

Each takes only the file compiled for it, and says so in one line otherwise: the KFP server
rejects a PipelineJob JSON (it is not a pipeline spec), and a KFP spec has no ExampleGen
driver hook and no gs:// root for Vertex.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Dict, Mapping, Optional

from tfx_hypertune.kubeflow import launcher
from tfx_hypertune.kubeflow import targets


@dataclasses.dataclass
class Submitted:
  pipeline_id: str
  version_id: str
  experiment_id: str
  run_id: Optional[str] = None
  recurring_run_id: Optional[str] = None


def kfp_cron(expression: str) -> str:
  """KFP schedules take six cron fields (seconds first); a classic five-field expression
  gets second 0. Anything else is an error naming the expression."""
  fields = expression.split()
  if len(fields) == 5:
    return ' '.join(['0'] + fields)
  if len(fields) == 6:
    return ' '.join(fields)
  raise launcher.LaunchError(f'--schedule {expression!r}: expected a cron expression of 5 '
                             f'fields (minute hour day month weekday) or 6 (seconds first)')


def vertex_cron(expression: str) -> str:
  """Vertex schedules take classic five-field cron (optionally after TZ=...)."""
  fields = expression.split()
  timezone = [fields.pop(0)] if fields and fields[0].startswith(('TZ=', 'CRON_TZ=')) else []
  if len(fields) == 6 and fields[0] == '0':
    fields = fields[1:]  # a KFP-style expression with second 0
  if len(fields) != 5:
    raise launcher.LaunchError(f'--schedule {expression!r}: expected a cron expression of 5 '
                               f'fields (minute hour day month weekday)')
  return ' '.join(timezone + fields)


def checked_package(package_path: str, target: Optional[str]) -> Dict[str, Any]:
  """The compiled file, if it was compiled for `target` (None: whichever it was)."""
  job = launcher.load_job(package_path)
  compiled_for = job['backend']
  if target and target != compiled_for:
    raise launcher.LaunchError(
        f'{package_path}: compiled for {compiled_for} ('
        + ('a Vertex PipelineJob JSON, which the KFP server rejects: it takes the pipeline '
           'spec' if compiled_for == targets.VERTEX else 'a Kubeflow pipeline spec')
        + f'); run `hypertune compile --target {target}` and submit that file')
  return job


def submit(host: str, package_path: str, *, experiment: str,
           parameters: Mapping[str, Any], schedule: Optional[str] = None,
           run_name: Optional[str] = None, pipeline_root: Optional[str] = None,
           log: Callable[[str], None] = print) -> Submitted:
  """To open-source Kubeflow Pipelines at `host`."""
  import kfp
  spec = checked_package(package_path, targets.KFP)['pipelineSpec']
  params = launcher.checked_overrides(spec, parameters)  # fail before any request
  cron = kfp_cron(schedule) if schedule else None
  name = spec['pipelineInfo']['name']
  stamp = time.strftime('%Y%m%d-%H%M%S')
  client = kfp.Client(host=host)
  experiment_id = client.create_experiment(name=experiment).experiment_id
  pipeline_id, version_id = _upload(client, package_path, name, f'{name}-{stamp}')
  submitted = Submitted(pipeline_id, version_id, experiment_id)
  job_name = run_name or f'{name}-{"schedule" if cron else "run"}-{stamp}'
  if cron:
    # One run at a time (a search must not race its own successor) and no back-fill of
    # missed slots after downtime: the next run picks up whatever data is newest.
    recurring = client.create_recurring_run(
        experiment_id=experiment_id, job_name=job_name, cron_expression=cron,
        max_concurrency=1, no_catchup=True, params=params,
        pipeline_id=pipeline_id, version_id=version_id, pipeline_root=pipeline_root)
    submitted.recurring_run_id = recurring.recurring_run_id
    log(f'recurring run {recurring.recurring_run_id}: {name} on "{cron}" '
        f'(max concurrency 1, no catch-up)')
  else:
    run = client.run_pipeline(experiment_id=experiment_id, job_name=job_name,
                              params=params, pipeline_id=pipeline_id, version_id=version_id,
                              pipeline_root=pipeline_root)
    submitted.run_id = run.run_id
    log(f'run {run.run_id}: {name} version {version_id}')
  return submitted


@dataclasses.dataclass
class VertexSubmitted:
  job_name: str
  schedule_name: Optional[str] = None


def vertex_job(package_path: str, *, project: str, region: str,
               parameters: Mapping[str, Any], pipeline_root: Optional[str] = None,
               run_name: Optional[str] = None, credentials=None):
  """The aiplatform.PipelineJob for a compiled PipelineJob JSON; no request is sent yet."""
  from google.cloud import aiplatform
  job = checked_package(package_path, targets.VERTEX)
  params = launcher.checked_overrides(job['pipelineSpec'], parameters)
  if pipeline_root and not pipeline_root.startswith('gs://'):
    raise launcher.LaunchError(f'--pipeline-root {pipeline_root}: Vertex needs a gs:// URI')
  name = job['pipelineSpec']['pipelineInfo']['name']
  return aiplatform.PipelineJob(
      display_name=run_name or f'{name}-{time.strftime("%Y%m%d-%H%M%S")}',
      template_path=package_path, pipeline_root=pipeline_root, parameter_values=params,
      project=project, location=region, credentials=credentials,
      # Vertex's cache would skip ExampleGen when the data folder's name did not change.
      enable_caching=False)


def submit_vertex(package_path: str, *, project: str, region: str,
                  parameters: Mapping[str, Any], schedule: Optional[str] = None,
                  run_name: Optional[str] = None, pipeline_root: Optional[str] = None,
                  log: Callable[[str], None] = print) -> VertexSubmitted:
  """To Vertex AI Pipelines in `project`/`region` (credentials: Application Default)."""
  cron = vertex_cron(schedule) if schedule else None  # fail before any request
  job = vertex_job(package_path, project=project, region=region, parameters=parameters,
                   pipeline_root=pipeline_root, run_name=run_name)
  if cron:
    # One run at a time, as on KFP; Vertex schedules do not back-fill missed slots.
    created = job.create_schedule(cron=cron, display_name=job.display_name,
                                  max_concurrent_run_count=1)
    log(f'Vertex schedule {created.resource_name}: "{cron}" (max concurrency 1)')
    return VertexSubmitted(job.display_name, created.resource_name)
  job.submit()
  log(f'Vertex pipeline job {job.resource_name}')
  return VertexSubmitted(job.resource_name)


def _upload(client, package_path: str, name: str, version_name: str):
  """A new pipeline the first time, a new version of it after that."""
  pipeline_id = client.get_pipeline_id(name)
  if pipeline_id is None:
    pipeline_id = client.upload_pipeline(package_path, pipeline_name=name).pipeline_id
    versions = client.list_pipeline_versions(pipeline_id).pipeline_versions or []
    if not versions:
      raise launcher.LaunchError(f'{name}: uploaded, but the server lists no version of it')
    return pipeline_id, versions[0].pipeline_version_id
  version = client.upload_pipeline_version(package_path, version_name, pipeline_id=pipeline_id)
  return pipeline_id, version.pipeline_version_id


def parse_params(assignments) -> Dict[str, str]:
  params = {}
  for assignment in assignments or []:
    if '=' not in assignment:
      raise launcher.LaunchError(f'--param {assignment}: expected NAME=VALUE')
    name, value = assignment.split('=', 1)
    params[name.strip()] = value
  return params
