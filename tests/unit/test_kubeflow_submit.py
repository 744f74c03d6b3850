"""`hypertune submit` against a fake KFP API server on 127.0.0.1: what the kfp SDK sends for
an upload, a run and a recurring run. This checks the protocol, not a cluster."""

import pytest
import yaml

from tfx_hypertune.kubeflow import launcher, submit
from tfx_hypertune.hypertune import cli
from tests.fake_kfp import FakeKfpServer


def test_submit_uploads_the_spec_and_starts_a_run_with_parameters(compiled_kfp):
  _, yaml_path = compiled_kfp
  with FakeKfpServer() as server:
    assert cli.main(['submit', yaml_path, '--host', server.url, '--param', 'max_epochs=6',
                     '--param', 'data_uri=gs://bucket/day-2']) == 0
  (upload,) = server.uploads
  assert upload['name'] == 'hypertune-digits'
  with open(yaml_path, 'rb') as f:
    assert upload['package'] == f.read()  # the compiled spec itself, byte for byte
  (run,) = server.calls('POST', '/runs')
  body = run['body']
  assert body['experiment_id'] == 'exp-1'
  assert body['pipeline_version_reference'] == {'pipeline_id': 'pipeline-1',
                                                'pipeline_version_id': 'pipeline-1-v1'}
  assert body['runtime_config']['parameters'] == {'max_epochs': 6,
                                                  'data_uri': 'gs://bucket/day-2'}
  assert not server.calls('POST', '/recurringruns')


def test_schedule_creates_a_recurring_run_on_a_new_version(compiled_kfp, capsys):
  _, yaml_path = compiled_kfp
  with FakeKfpServer() as server:
    assert cli.main(['submit', yaml_path, '--host', server.url]) == 0
    capsys.readouterr()
    assert cli.main(['submit', yaml_path, '--host', server.url, '--schedule', '0 3 * * *',
                     '--param', 'accuracy_threshold=0.95']) == 0
  assert [u['version_id'] for u in server.uploads] == ['pipeline-1-v1', 'pipeline-1-v2']
  assert server.calls('POST', '/pipelines/upload_version')[0]['query']['pipelineid'] == (
      'pipeline-1')
  (recurring,) = server.calls('POST', '/recurringruns')
  body = recurring['body']
  assert body['trigger']['cron_schedule']['cron'] == '0 0 3 * * *'
  assert int(body['max_concurrency']) == 1
  assert body['no_catchup'] is True
  assert body['pipeline_version_reference']['pipeline_version_id'] == 'pipeline-1-v2'
  assert body['runtime_config']['parameters'] == {'accuracy_threshold': 0.95}
  assert 'recurring run recurring-1' in capsys.readouterr().out


def test_bad_parameters_and_cron_fail_before_any_request(compiled_kfp, capsys):
  _, yaml_path = compiled_kfp
  with FakeKfpServer() as server:
    assert cli.main(['submit', yaml_path, '--host', server.url, '--param', 'epochs=3']) == 2
    assert 'parameter epochs: not a runtime parameter' in capsys.readouterr().err
    assert cli.main(['submit', yaml_path, '--host', server.url,
                     '--param', 'max_epochs=three']) == 2
    assert "parameter max_epochs: 'three' is not a number_integer" in capsys.readouterr().err
    assert cli.main(['submit', yaml_path, '--host', server.url, '--schedule', 'daily']) == 2
    assert "--schedule 'daily'" in capsys.readouterr().err
  assert server.requests == []


def test_runtime_parameters_have_the_config_defaults(compiled_kfp):
  _, yaml_path = compiled_kfp
  with open(yaml_path) as f:
    spec = yaml.safe_load(f)
  definitions = launcher.parameter_definitions(spec)
  assert {name: d['defaultValue'] for name, d in definitions.items()} == {
      'data_uri': 'gs://bucket/data', 'max_epochs': 4, 'max_trials': 20, 'max_minutes': 0.0,
      'accuracy_threshold': 0.0}
  assert submit.kfp_cron('*/15 * * * *') == '0 */15 * * * *'


def test_launch_rejects_bad_input_before_running_anything(compiled_kfp, tmp_path, capsys):
  json_path, yaml_path = compiled_kfp
  assert cli.main(['launch', str(tmp_path / 'missing.json')]) == 2
  assert 'missing.json: no such compiled pipeline' in capsys.readouterr().err
  # Compiled for gs://: this machine reaches local folders and S3-compatible stores only.
  assert cli.main(['launch', yaml_path]) == 2
  assert 'pipeline root gs://bucket/root: this machine can reach a local folder or s3://' in (
      capsys.readouterr().err)
  assert cli.main(['launch', json_path, '--pipeline-root', str(tmp_path / 'root'),
                   '--param', 'max_epochs=0.5']) == 2
  assert "parameter max_epochs: '0.5' is not a number_integer" in capsys.readouterr().err
  (tmp_path / 'broken.yaml').write_text('root: [unclosed')
  assert cli.main(['launch', str(tmp_path / 'broken.yaml')]) == 2
  assert 'broken.yaml: not a compiled pipeline' in capsys.readouterr().err
  assert not (tmp_path / 'root').exists()


def test_submit_takes_only_the_file_compiled_for_its_target(compiled_kfp, capsys):
  json_path, yaml_path = compiled_kfp
  with FakeKfpServer() as server:
    # The PipelineJob JSON is Vertex's: the KFP server would reject it after the upload.
    assert cli.main(['submit', json_path, '--target', 'kfp', '--host', server.url]) == 2
    err = capsys.readouterr().err
    assert 'compiled for vertex (a Vertex PipelineJob JSON, which the KFP server rejects' in err
    assert len(err.strip().splitlines()) == 1
    assert cli.main(['submit', yaml_path]) == 2
    assert '--host: required for Kubeflow Pipelines' in capsys.readouterr().err
  assert server.requests == []
  assert cli.main(['submit', yaml_path, '--target', 'vertex', '--project', 'p']) == 2
  assert 'compiled for kfp' in capsys.readouterr().err
  assert cli.main(['submit', json_path]) == 2  # a Vertex file: Vertex needs a project
  assert '--project: required for Vertex AI' in capsys.readouterr().err


def test_submit_passes_the_pipeline_root(compiled_kfp):
  _, yaml_path = compiled_kfp
  with FakeKfpServer() as server:
    assert cli.main(['submit', yaml_path, '--target', 'kfp', '--host', server.url,
                     '--pipeline-root', 'minio://mlpipeline/team-a']) == 0
  (run,) = server.calls('POST', '/runs')
  assert run['body']['runtime_config']['pipeline_root'] == 'minio://mlpipeline/team-a'


def test_the_vertex_job_is_the_compiled_pipeline_with_the_run_values(compiled_kfp):
  """Built offline (anonymous credentials, no request): what `submit --target vertex` sends."""
  from google.auth.credentials import AnonymousCredentials
  json_path, _ = compiled_kfp
  job = submit.vertex_job(json_path, project='my-project', region='europe-west4',
                          parameters={'max_epochs': '6'}, pipeline_root='gs://bucket/run-2',
                          run_name='nightly', credentials=AnonymousCredentials())
  resource = job._gca_resource  # noqa: SLF001
  assert resource.display_name == 'nightly'
  assert resource.runtime_config.gcs_output_directory == 'gs://bucket/run-2'
  assert resource.runtime_config.parameter_values['max_epochs'] == 6
  assert resource.runtime_config.parameter_values['data_uri'] == 'gs://bucket/data'
  assert resource.pipeline_spec['pipelineInfo']['name'] == 'hypertune-digits'
  assert job.project == 'my-project' and job.location == 'europe-west4'
  with pytest.raises(launcher.LaunchError, match='parameter epochs: not a runtime parameter'):
    submit.vertex_job(json_path, project='p', region='us-central1', parameters={'epochs': 1},
                      credentials=AnonymousCredentials())
  assert submit.vertex_cron('0 3 * * *') == '0 3 * * *'
  assert submit.vertex_cron('TZ=Europe/Berlin 0 0 3 * * *') == 'TZ=Europe/Berlin 0 3 * * *'
  with pytest.raises(launcher.LaunchError, match="--schedule 'daily'"):
    submit.vertex_cron('daily')
