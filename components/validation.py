"""SchemaGate: the ExampleValidator's verdict as a gate in the data flow.

TFX's ExampleValidator records anomalies but never stops a run. The gate reads them and
either fails (naming every anomaly) or passes the schema on to Transform: because Transform
takes its schema from the gate, nothing downstream (Transform, Tuner, Trainer, Pusher) runs on
data that does not match the schema.
"""


import os
from typing import List

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.io import fileio
from tfx.types import standard_artifacts

ANOMALIES_FILE = 'SchemaDiff.pb'  # tfx/components/example_validator/executor.py


class DataAnomaliesError(RuntimeError):
  """The data does not match the schema; the message lists each anomaly."""


def read_anomalies(anomalies_uri: str) -> List[str]:
  """One line per anomaly: 'split train: column x: <description>'."""
  found = []
  for path in sorted(fileio.glob(os.path.join(anomalies_uri, 'Split-*', ANOMALIES_FILE))):
    split = os.path.basename(os.path.dirname(path))[len('Split-'):]
    anomalies = anomalies_pb2.Anomalies()
    with fileio.open(path, 'rb') as f:
      anomalies.ParseFromString(f.read())
    for column, info in sorted(anomalies.anomaly_info.items()):
      found.append(f'split {split}: column {column}: {_describe(info)}')
    if anomalies.HasField('dataset_anomaly_info'):
      found.append(f'split {split}: dataset: {_describe(anomalies.dataset_anomaly_info)}')
  return found


def _describe(info) -> str:
  return ' '.join((info.description or info.short_description).split())


@component
def SchemaGate(
    schema: InputArtifact[standard_artifacts.Schema],
    anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    validated_schema: OutputArtifact[standard_artifacts.Schema],
    code_version: Parameter[str] = '',
) -> None:
  """Fails on any anomaly; otherwise copies the schema to `validated_schema`."""
  del code_version  # only here so that a change to our code invalidates the cache
  found = read_anomalies(anomalies.uri)
  if found:
    raise DataAnomaliesError(
        f'ExampleValidator found {len(found)} anomal{"y" if len(found) == 1 else "ies"} '
        f'against the schema: ' + '; '.join(found))
  # fileio, and the folder made here: on Kubeflow the URIs are bucket paths that nobody
  # creates in advance.
  fileio.makedirs(validated_schema.uri)
  for path in fileio.glob(os.path.join(schema.uri, '*')):
    fileio.copy(path, os.path.join(validated_schema.uri, os.path.basename(path)),
                overwrite=True)
