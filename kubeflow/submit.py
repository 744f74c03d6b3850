"""`hypertune submit`: upload a compiled pipeline to Kubeflow Pipelines and start a run, or
create a recurring run, through the kfp SDK client (KFP v2beta1 REST API)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Dict, Mapping, Optional

from kubeflow import launcher


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


def submit(host: str, package_path: str, *, experiment: str,
           parameters: Mapping[str, Any], schedule: Optional[str] = None,
           run_name: Optional[str] = None, log: Callable[[str], None] = print) -> Submitted:
  import kfp  # pylint: disable=import-outside-toplevel
  spec = launcher.load_job(package_path)['pipelineSpec']
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
        pipeline_id=pipeline_id, version_id=version_id)
    submitted.recurring_run_id = recurring.recurring_run_id
    log(f'recurring run {recurring.recurring_run_id}: {name} on "{cron}" '
        f'(max concurrency 1, no catch-up)')
  else:
    run = client.run_pipeline(experiment_id=experiment_id, job_name=job_name,
                              params=params, pipeline_id=pipeline_id, version_id=version_id)
    submitted.run_id = run.run_id
    log(f'run {run.run_id}: {name} version {version_id}')
  return submitted


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
