"""The first run of test_kubeflow_launcher_e2e.py: our pipeline with LocalDagRunner, its root
and push destination in the S3 bucket the launched run then uses, two parallel trial workers.
Run in a process of its own (tensorflow-io's S3 client aborts in interpreter teardown, "pure
virtual method called", so it ends with os._exit):

    python -m tests.e2e.seed_bucket_run ROOT_URI DATA_DIR METADATA_PATH

The S3 endpoint and credentials come from the environment (S3_ENDPOINT, AWS_*); the Beam steps
get them as pipeline arguments, as the Kubeflow entrypoint gives them (kubeflow/entrypoint.py).
The settings are the compiled spec's defaults with the launched run's runtime values (max_epochs
2), so that the launched run's search has the same settings and warm-starts from this one."""

import os
import sys


def main(root: str, data_dir: str, metadata_path: str) -> None:
  from tfx.orchestration import metadata as tfx_metadata
  from tfx.orchestration.local.local_dag_runner import LocalDagRunner

  from tfx_hypertune.components import filesystems
  from tfx_hypertune.hypertune import local_runner
  from tfx_hypertune.kubeflow import entrypoint
  from tfx_hypertune.pipeline import config as config_lib
  from tfx_hypertune.pipeline import pipeline as pipeline_lib

  config = config_lib.build_config({
      'pipeline_name': 'hypertune-digits', 'data': {'path': data_dir},
      'search': {'parallel_trials': 2},
      'beam_pipeline_args': entrypoint.s3_beam_args(list(config_lib.DEFAULT_BEAM_ARGS))})
  config = config_lib.with_task(config, 'classification', 10)
  values = pipeline_lib.RunValues.of(config)
  values = pipeline_lib.RunValues(**{**values.__dict__, 'max_epochs': 2,
                                     'accuracy_threshold': 0.5})
  filesystems.support(root)
  pipeline = pipeline_lib.create_pipeline(
      config, pipeline_root=root, serving_dir=f'{root}/serving', run_values=values,
      metadata_connection_config=tfx_metadata.sqlite_metadata_connection_config(metadata_path))
  with local_runner._progress_logging(verbose=False):  # noqa: SLF001
    LocalDagRunner().run(pipeline)


if __name__ == '__main__':
  main(*sys.argv[1:4])
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(0)  # noqa: SLF001  # see the module docstring
