"""The container command of every compiled task: TFX's v2 entrypoint
(`tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor`), made to work with what
the open-source KFP 2.x backend hands a task, which differs from Vertex AI Pipelines:

1. Input artifacts arrive with an empty type schema. TFX finds an artifact's Python class from
   that schema (`yaml.safe_load("")` -> a crash); the task's own input definitions, which TFX
   compiles into the `--json_serialized_inputs_spec_args` argument, say the type, so it is
   restored from there.
2. Artifact URIs may be `minio://bucket/path` (the cluster default root). Neither TensorFlow,
   Beam nor TFX's fileio knows that scheme; MinIO speaks S3, so every `minio://` in the
   executor input becomes `s3://` (and back in the output metadata), with the endpoint from
   S3_ENDPOINT, or else the in-cluster `minio-service` the KFP install creates.
3. The backend never runs a lifecycle `preCacheCheck`, where TFX puts ExampleGen's driver (it
   resolves the newest span and fingerprints the input). When no driver output exists, this
   runs the driver first, in the same process, as Vertex would have before the executor.

Then it runs TFX's executor entrypoint unchanged. With s3:// URIs it also loads
tensorflow-io's S3 filesystem and gives Beam the endpoint and credentials from the
environment (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION), unless the
compiled Beam arguments already do.

    python -m tfx_hypertune.kubeflow.entrypoint --executor_class_path ... \
        --json_serialized_invocation_args
        {{$}} --json_serialized_inputs_spec_args {...} [beam args]
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any, Dict, List, Tuple

from tfx_hypertune.components import tfx_private

INVOCATION_FLAG = '--json_serialized_invocation_args'
INPUTS_SPEC_FLAG = '--json_serialized_inputs_spec_args'
MINIO = 'minio://'
S3 = 's3://'
# The MinIO service of a KFP install, as Kubernetes announces it to pods in its namespace.
IN_CLUSTER_MINIO = ('MINIO_SERVICE_SERVICE_HOST', 'MINIO_SERVICE_SERVICE_PORT')


def flag_value(argv: List[str], flag: str) -> Tuple[int, str]:
  """(index of the value, value) of `flag VALUE` or `flag=VALUE`; (-1, '') if absent."""
  for i, arg in enumerate(argv):
    if arg == flag and i + 1 < len(argv):
      return i + 1, argv[i + 1]
    if arg.startswith(flag + '='):
      return i, arg[len(flag) + 1:]
  return -1, ''


def set_flag_value(argv: List[str], flag: str, value: str) -> List[str]:
  index, _ = flag_value(argv, flag)
  argv = list(argv)
  joined = argv[index].startswith(flag + '=')  # the `flag=VALUE` form
  argv[index] = f'{flag}={value}' if joined else value
  return argv


def restore_input_types(executor_input: Dict[str, Any], inputs_spec: Dict[str, Any]) -> int:
  """Fills empty input artifact types from the task's input definitions. Returns how many."""
  definitions = inputs_spec.get('artifacts', {})
  restored = 0
  for key, artifact_list in executor_input.get('inputs', {}).get('artifacts', {}).items():
    declared = definitions.get(key, {}).get('artifactType')
    for artifact in artifact_list.get('artifacts', []):
      kind = artifact.get('type') or {}
      if declared and not (kind.get('instanceSchema') or kind.get('schemaTitle')):
        artifact['type'] = declared
        restored += 1
  return restored


def map_scheme(value: Any, old: str, new: str) -> Any:
  """`value` with every string that starts with `old` starting with `new` instead, also
  inside parameters that are JSON text (the Pusher's push_destination is a proto as JSON)."""
  if isinstance(value, str):
    value = new + value[len(old):] if value.startswith(old) else value
    return value.replace(f'"{old}', f'"{new}')
  if isinstance(value, list):
    return [map_scheme(v, old, new) for v in value]
  if isinstance(value, dict):
    return {k: map_scheme(v, old, new) for k, v in value.items()}
  return value


def uses_scheme(value: Any, scheme: str) -> bool:
  return scheme in json.dumps(value)


def s3_environment() -> None:
  """S3_ENDPOINT for a minio:// root when the pod was not given one: the KFP install's
  minio-service, plain HTTP inside the cluster."""
  if os.environ.get('S3_ENDPOINT'):
    return
  host, port = (os.environ.get(name) for name in IN_CLUSTER_MINIO)
  if host:
    os.environ['S3_ENDPOINT'] = f'http://{host}:{port or 9000}'
    os.environ.setdefault('S3_USE_HTTPS', '0')
    os.environ.setdefault('S3_VERIFY_SSL', '0')


def s3_beam_args(beam_args: List[str]) -> List[str]:
  """Beam's S3 filesystem options from the environment tensorflow-io reads, unless given."""
  endpoint = os.environ.get('S3_ENDPOINT', '')
  wanted = {'--s3_endpoint_url': endpoint,
            '--s3_access_key_id': os.environ.get('AWS_ACCESS_KEY_ID', ''),
            '--s3_secret_access_key': os.environ.get('AWS_SECRET_ACCESS_KEY', ''),
            '--s3_region_name': os.environ.get('AWS_REGION', '')}
  if endpoint and '://' not in endpoint:  # tensorflow-io takes host:port
    scheme = 'https' if os.environ.get('S3_USE_HTTPS', '1') != '0' else 'http'
    wanted['--s3_endpoint_url'] = f'{scheme}://{endpoint}'
  given = {arg.split('=', 1)[0] for arg in beam_args}
  return beam_args + [f'{flag}={value}' for flag, value in wanted.items()
                      if value and flag not in given]


def needs_driver(executor_input: Dict[str, Any]) -> bool:
  """ExampleGen (it has `input_base`) whose driver has not written its output file."""
  from tfx.dsl.io import fileio
  parameters = executor_input.get('inputs', {}).get('parameterValues', {})
  output_file = executor_input.get('outputs', {}).get('outputFile', '')
  return 'input_base' in parameters and not fileio.exists(output_file)


def run_driver(executor_input: Dict[str, Any], inputs_spec_json: str) -> Dict[str, Any]:
  """TFX's ExampleGen driver, then its view of the output artifacts (span, version,
  fingerprint) in the executor input, as a Vertex-style launcher would pass them on."""
  from google.protobuf import json_format
  from kfp.pipeline_spec import pipeline_spec_pb2
  from tfx.dsl.io import fileio
  proto = json_format.Parse(json.dumps(executor_input), pipeline_spec_pb2.ExecutorInput(),
                            ignore_unknown_fields=True)
  inputs_spec = (json_format.Parse(inputs_spec_json, pipeline_spec_pb2.ComponentInputsSpec(),
                                   ignore_unknown_fields=True) if inputs_spec_json else None)
  tfx_private.run_example_gen_driver(proto, inputs_spec)
  with fileio.open(executor_input['outputs']['outputFile'], 'r') as f:
    written = json.loads(f.read()).get('artifacts', {})
  for key, artifact_list in executor_input['outputs'].get('artifacts', {}).items():
    reported = written.get(key, {}).get('artifacts', [])
    for artifact, update in zip(artifact_list.get('artifacts', []), reported):
      artifact.setdefault('metadata', {}).update(update.get('metadata', {}))
  return executor_input


def prepare(argv: List[str]) -> Tuple[List[str], Dict[str, Any]]:
  """The TFX entrypoint's arguments after the three fixes above, and what was done."""
  index, invocation = flag_value(argv, INVOCATION_FLAG)
  if index < 0:
    raise ValueError(f'{INVOCATION_FLAG}: missing (the executor input)')
  executor_input = json.loads(invocation)
  _, inputs_spec_json = flag_value(argv, INPUTS_SPEC_FLAG)
  done: Dict[str, Any] = {'restored_types': restore_input_types(
      executor_input, json.loads(inputs_spec_json) if inputs_spec_json else {})}
  done['minio'] = uses_scheme(executor_input, MINIO)
  if done['minio']:
    executor_input = map_scheme(executor_input, MINIO, S3)
    s3_environment()
  done['s3'] = uses_scheme(executor_input, S3)
  argv = set_flag_value(argv, INVOCATION_FLAG, json.dumps(executor_input))
  done['driver'] = False
  if done['s3']:
    from tfx_hypertune.components import filesystems
    filesystems.support(S3)
    argv = s3_beam_args(argv)
  if needs_driver(executor_input):
    executor_input = run_driver(executor_input, inputs_spec_json)
    argv = set_flag_value(argv, INVOCATION_FLAG, json.dumps(executor_input))
    done['driver'] = True
  done['output_file'] = executor_input.get('outputs', {}).get('outputFile', '')
  return argv, done


def restore_minio_uris(output_file: str) -> None:
  """The output metadata with the URIs the backend gave (minio://), not the mapped ones."""
  from tfx.dsl.io import fileio
  if not output_file or not fileio.exists(output_file):
    return
  with fileio.open(output_file, 'r') as f:
    written = json.loads(f.read())
  with fileio.open(output_file, 'w') as f:
    f.write(json.dumps(map_scheme(written, S3, MINIO)))


def main(argv: List[str]) -> int:
  argv, done = prepare(argv)
  print(f'[hypertune entrypoint] {json.dumps(done)}', flush=True)
  # Without a program name: TFX's own main passes absl's argv[0] along, which then lands
  # among the Beam arguments ("Discarding unparseable args").
  tfx_private.run_v2_container_executor(argv)
  if done['minio']:
    restore_minio_uris(done['output_file'])
  return 0


if __name__ == '__main__':
  try:
    code = main(sys.argv[1:])
  except Exception:  # noqa: BLE001
    traceback.print_exc()
    code = 1
  sys.stdout.flush()
  sys.stderr.flush()
  # Not sys.exit: tensorflow-io's S3 client aborts during interpreter teardown ("pure virtual
  # method called", status 134), which would turn a finished task into a failed one.
  os._exit(code)  # noqa: SLF001
