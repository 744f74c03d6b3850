"""The `hypertune` command.

    hypertune run [--config FILE] [--data DIR --label COLUMN] [flags]   run the pipeline locally
    hypertune predict --model DIR --data CSV [--output FILE]           score CSV rows
    hypertune report [--config FILE] [--top N]                          the last run's trials
    hypertune freeze-schema [--config FILE] [--data DIR]                curate the inferred schema
    hypertune compile [--target kfp|vertex] --image IMAGE [flags]       <name>.yaml (KFP spec) or,
                                                                        with vertex, <name>.json
    hypertune launch PIPELINE.yaml|.json [--param NAME=VALUE]           run a compiled spec here
    hypertune submit PIPELINE.yaml --host URL [--schedule CRON]         run/schedule it on KFP
    hypertune submit PIPELINE.json --target vertex --project P --region R     ... on Vertex

User errors (config, data, schema drift) end in one line on stderr and exit status 2 (bad
input) or 1 (the pipeline stopped on anomalies); tracebacks are for bugs. Heavy imports
(TensorFlow, TFX) wait until the input has been checked, so mistakes are reported in a second.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import re
import shutil
import sys
import threading
import time
import warnings
from typing import Any, Dict, List, Optional

from tfx_hypertune.components.tuner import policies
from tfx_hypertune.pipeline import config as config_lib
from tfx_hypertune.hypertune import data_check, interrupts, run_lock
from tfx_hypertune.kubeflow import targets

EXIT_BAD_INPUT = 2
EXIT_PIPELINE_STOPPED = 1

# Command-line flag -> dotted config setting.
RUN_FLAGS = {
    'data': 'data.path',
    'label': 'data.label',
    'task': 'data.task',
    'schema': 'data.schema',
    'output_dir': 'output_dir',
    'pipeline_name': 'pipeline_name',
    'orchestrator': 'orchestrator',
    'algorithm': 'search.algorithm',
    'objective': 'search.objective',
    'max_epochs': 'search.max_epochs',
    'factor': 'search.factor',
    'iterations': 'search.hyperband_iterations',
    'max_trials': 'search.max_trials',
    'max_minutes': 'search.max_minutes',
    'select': 'search.select',
    'select_tolerance': 'search.select_tolerance',
    'trials_on': 'search.trials_on',
    'trial_stopping': 'search.trial_stopping',
    'seed': 'seed',
    'accuracy_threshold': 'evaluation.accuracy_threshold',
}
PATH_FLAGS = ('data', 'schema', 'output_dir')


def main(argv: Optional[List[str]] = None) -> int:
  _quiet_noise()
  args = _parser().parse_args(argv)
  if threading.current_thread() is threading.main_thread():
    interrupts.install(_failed_component)
  try:
    code = args.handler(args)
  except KeyboardInterrupt:
    return interrupts.report(_failed_component())
  except run_lock.RunFolderBusy as e:
    print(f'hypertune: busy: {e}', file=sys.stderr)
    return run_lock.EXIT_BUSY
  except (config_lib.ConfigError, data_check.DataError, FileNotFoundError) as e:
    print(f'hypertune: error: {e}', file=sys.stderr)
    return EXIT_BAD_INPUT
  except Exception as e:  # noqa: BLE001
    if type(e).__name__ in ('LaunchError', 'CompileError'):  # by name: kubeflow/ loads late
      print(f'hypertune: error: {e}', file=sys.stderr)
      return EXIT_BAD_INPUT
    if type(e).__name__ == 'TaskFailedError':
      print(f'hypertune: stopped: {e}', file=sys.stderr)
      return EXIT_PIPELINE_STOPPED
    if interrupts.received():  # a KeyboardInterrupt that TFX or Beam wrapped in another error
      return interrupts.report(_failed_component())
    anomalies = _find_anomalies_error(e)
    if anomalies is not None:
      print(f'hypertune: stopped: {anomalies}', file=sys.stderr)
      return EXIT_PIPELINE_STOPPED
    return _report_failure(e, args)
  if interrupts.received():  # held until the Pusher had finished: the run stops after it
    return interrupts.report(None, finished=True)
  return code


def _report_failure(error: BaseException, args: argparse.Namespace) -> int:
  """Anything else that escapes a command: one line (what failed, where), the full traceback
  in a log file (printed too with --verbose), exit status 1."""
  import tempfile
  import traceback
  log_dir = getattr(args, 'log_dir', None) or tempfile.gettempdir()
  os.makedirs(log_dir, exist_ok=True)
  log_path = os.path.join(log_dir, f'hypertune-error-{time.strftime("%Y%m%d-%H%M%S")}.log')
  text = ''.join(traceback.format_exception(type(error), error, error.__traceback__))
  with open(log_path, 'w', encoding='utf-8') as f:
    f.write(text)
  where = _failed_component()
  message = ' '.join(str(error).split())[:300] or '(no message)'
  print(f'hypertune: failed{f" in {where}" if where else ""}: {type(error).__name__}: {message}'
        f' (full traceback: {log_path})', file=sys.stderr)
  if getattr(args, 'verbose', False):
    print(text, file=sys.stderr)
  return EXIT_PIPELINE_STOPPED


def _failed_component() -> Optional[str]:
  """The component that was running, if a pipeline was (local_runner tracks it)."""
  local_runner = sys.modules.get('tfx_hypertune.hypertune.local_runner')
  return getattr(local_runner, 'RUNNING', None) if local_runner else None


# The warnings a run does not show (category, start of the message); the tests' conftest.py
# ignores the same ones.
IGNORED_WARNINGS = (
    # google-cloud libraries warn about Python 3.10 on import; TFX 1.16 requires 3.10.
    (FutureWarning, ''),
    (DeprecationWarning, ''),
    # Keras says this whenever a finite tf.data epoch ends; our datasets are finite on purpose.
    (Warning, 'Your input ran out of data'),
    # Hyperband resumes a trial from its parent's checkpoint before the optimizer is built.
    (Warning, 'Skipping variable loading for optimizer'),
)


def _quiet_noise() -> None:
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  for category, message in IGNORED_WARNINGS:
    warnings.filterwarnings('ignore', message=re.escape(message), category=category)
  # The same for the Python processes the run starts (Beam's worker processes, trial
  # processes), which import the google-cloud libraries again. (Environment filters match a
  # message's start and cannot hold a comma: the categories ignored whole suffice.)
  # Beam's TFRecord reader says at import that python-snappy would make its checksums faster.
  logging.getLogger('apache_beam.io.tfrecordio').setLevel(logging.ERROR)
  os.environ.setdefault('PYTHONWARNINGS', ','.join(
      f'ignore::{category.__name__}' for category, message in IGNORED_WARNINGS
      if not message))


def import_tensorflow_quietly() -> None:
  """Imports TensorFlow with the process's stderr on /dev/null: on a machine without a GPU
  its XLA plugins print three lines at import ("Unable to register cuFFT factory ...", and
  cuDNN, cuBLAS) below any log level. A failing import still raises, with its message."""
  if 'tensorflow' in sys.modules:
    return
  sys.stderr.flush()
  saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
  try:
    os.dup2(devnull, 2)
    import tensorflow  # noqa: F401
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)


def _find_anomalies_error(error: BaseException) -> Optional[str]:
  """The DataAnomaliesError inside whatever the orchestrator wrapped it in, if any. Matched
  by name: importing components.validation would load TFX before input is checked."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if type(error).__name__ == 'DataAnomaliesError':
      return str(error)
    error = error.__cause__ or error.__context__
  return None


# ---------------------------------------------------------------------------------------------
# Arguments


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog='hypertune', description=__doc__.split('\n\n')[0])
  commands = parser.add_subparsers(dest='command', required=True)

  run = commands.add_parser('run', help='run the pipeline locally')
  _add_config_flags(run)
  run.add_argument('-v', '--verbose', action='store_true', help='show TFX and Beam logs')
  run.set_defaults(handler=cmd_run)

  predict = commands.add_parser('predict', help='score CSV rows with a pushed model')
  predict.add_argument('--model', required=True,
                       help='a SavedModel, or a serving directory (the newest version is used)')
  predict.add_argument('--data', required=True, help='CSV file of raw rows')
  predict.add_argument('--output', help='write predictions here instead of stdout')
  predict.set_defaults(handler=cmd_predict)

  report = commands.add_parser('report', help="print the last run's best trials")
  _add_config_flags(report)
  report.add_argument('run', nargs='?', help='a run folder (<output_dir>/<pipeline_name>); '
                      'default: the one the config and flags name')
  report.add_argument('--top', type=int, default=10)
  report.add_argument('--rebuild', action='store_true',
                      help='rebuild the report page, plots and table from the trial files '
                           '(after a change to the report code; nothing re-runs)')
  report.set_defaults(handler=cmd_report)

  compile_ = commands.add_parser(
      'compile', help='compile the pipeline for Kubeflow Pipelines 2.x (YAML) or Vertex AI '
                      'Pipelines (PipelineJob JSON)')
  _add_config_flags(compile_)
  compile_.add_argument('--target', choices=targets.TARGETS, default=targets.KFP,
                        help='open-source Kubeflow Pipelines 2.x (default) or Vertex AI')
  compile_.add_argument('--image', default=None,
                        help='the image every task runs in (built from kubeflow/Dockerfile)')
  compile_.add_argument('--pipeline-root',
                        help='where runs write artifacts: minio://, s3:// or gs:// for kfp '
                             '(default minio://mlpipeline/v2/artifacts/<pipeline name>), '
                             'gs:// for vertex (required)')
  compile_.add_argument('--out', default='.', help='folder for the compiled files')
  compile_.set_defaults(handler=cmd_compile)

  launch = commands.add_parser(
      'launch', help='run a compiled pipeline here, task by task, as the KFP backend would')
  launch.add_argument('package', help='the spec YAML (acts as open-source KFP) or PipelineJob '
                                      'JSON (acts as Vertex) from compile')
  launch.add_argument('--pipeline-root', help='local folder, s3:// or minio:// URI for the '
                      'artifacts (default: the one compiled in)')
  launch.add_argument('--param', action='append', default=[], metavar='NAME=VALUE',
                      help='a runtime parameter, e.g. max_epochs=5 or data_uri=/data')
  launch.set_defaults(handler=cmd_launch)

  submit = commands.add_parser(
      'submit', help='run or schedule a compiled pipeline on Kubeflow Pipelines or Vertex AI')
  submit.add_argument('package', help='the spec YAML (compile --target kfp) or the '
                                      'PipelineJob JSON (compile --target vertex)')
  submit.add_argument('--target', choices=targets.TARGETS,
                      help='where to submit (default: what the file was compiled for)')
  submit.add_argument('--host', help='kfp: the KFP API endpoint, e.g. http://localhost:8080')
  submit.add_argument('--project', help='vertex: the Google Cloud project')
  submit.add_argument('--region', default='us-central1', help='vertex: the region')
  submit.add_argument('--pipeline-root', help='where this run writes artifacts (default: the '
                                              'root compiled in)')
  submit.add_argument('--schedule', metavar='CRON',
                      help='create a recurring run on this cron schedule instead of one run, '
                           'e.g. "0 3 * * *" (max concurrency 1, no catch-up)')
  submit.add_argument('--param', action='append', default=[], metavar='NAME=VALUE',
                      help='a runtime parameter, e.g. max_epochs=5')
  submit.add_argument('--experiment', default='hypertune', help='KFP experiment name')
  submit.add_argument('--run-name', help='name of the run or recurring run')
  submit.set_defaults(handler=cmd_submit)

  freeze = commands.add_parser(
      'freeze-schema', help="copy the last run's schema to <data>/schema.pbtxt")
  _add_config_flags(freeze)
  freeze.add_argument('--to', help='where to write the schema (default: <data>/schema.pbtxt)')
  freeze.set_defaults(handler=cmd_freeze_schema)
  return parser


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
  parser.add_argument('--config', help='YAML config file (see hypertune.yaml)')
  parser.add_argument('--data', help='folder of CSV files (default: the bundled digits)')
  parser.add_argument('--label', help='label column (default: label)')
  parser.add_argument('--task', choices=config_lib.TASKS,
                      help='classification or regression (default: auto, from the label column)')
  parser.add_argument('--schema', help='curated schema.pbtxt (default: <data>/schema.pbtxt)')
  parser.add_argument('--output-dir', help='where runs go (default: ./runs)')
  parser.add_argument('--pipeline-name')
  parser.add_argument('--orchestrator', choices=config_lib.ORCHESTRATORS)
  parser.add_argument('--algorithm', choices=config_lib.ALGORITHMS)
  parser.add_argument('--objective')
  parser.add_argument('--max-epochs', type=int)
  parser.add_argument('--factor', type=int)
  parser.add_argument('--iterations', type=int, help='Hyperband iterations')
  parser.add_argument('--max-trials', type=int, help='trial cap for random/bayesian/grid')
  parser.add_argument('--max-minutes', type=float,
                      help='a clock for the search: no trial starts that would end after it')
  parser.add_argument('--select', help='best | smallest_within | fastest_within: the trial '
                      'the Trainer gets (with --select-tolerance)')
  parser.add_argument('--select-tolerance', type=float,
                      help='how far below the best objective a chosen trial may be')
  parser.add_argument('--trials-on', choices=policies.TRIALS_ON,
                      help='where trials run: local processes, or --set '
                      'search.parallel_trials=N slots of one Beam job (docs/beam.md)')
  parser.add_argument('--trial-stopping', choices=policies.TRIAL_STOPPING_RULES,
                      help='stop weak trials while they train: none, or median (below the '
                      'median of the other trials at the same epoch)')
  parser.add_argument('--seed', type=int)
  parser.add_argument('--accuracy-threshold', type=float)
  parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                      help='any setting by its dotted name, e.g. search.space.units.max=256')


def config_from_args(args: argparse.Namespace) -> config_lib.Config:
  overrides: Dict[str, Any] = {}
  for assignment in args.set:
    key, value = config_lib.parse_override(assignment)
    overrides[key] = value
  for flag, setting in RUN_FLAGS.items():
    value = getattr(args, flag, None)
    if value is not None:
      overrides[setting] = (os.path.abspath(value) if flag in PATH_FLAGS and '://' not in value
                            else value)
  return config_lib.load_config(args.config, overrides)


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_run(args: argparse.Namespace) -> int:
  started = time.monotonic()
  config = config_from_args(args)
  args.log_dir = os.path.join(config.run_dir, 'logs')  # where a failure's traceback goes
  summary = data_check.check_data(config.data.path, config.data.label, config.data.schema_path,
                                  config.data.window_size, seed=config.seed,
                                  task=config.data.task)
  config = config_lib.with_task(config, summary.task, len(summary.classes))
  # Held until this function returns (the process ending releases it too).
  lock = run_lock.acquire(config.run_dir)  # noqa: F841
  span_note = ''
  if config.data.window_size:
    folders = sorted({os.path.basename(os.path.dirname(f)) for f in summary.files})
    span_note = f' (spans: {", ".join(folders)})'
  print(f'data: {config.data.path}: {summary.rows} rows in {len(summary.files)} file(s){span_note}'
        f'{_empty_parts_note(summary)}, {_label_note(summary)}, '
        f'{len(summary.numeric_columns)} numeric and {len(summary.text_columns)} text feature '
        f'columns; schema: {config.data.schema_path or "inferred (SchemaGen)"}', flush=True)
  if summary.stripped_fields:
    print(f'data: whitespace around {summary.stripped_fields} field(s) stripped (as the '
          f'pipeline reads them)', flush=True)
  for note in summary.notes:
    print(f'data: note: {note}', flush=True)
  print(f'task: {summary.task_reason}', flush=True)
  imbalance = data_check.imbalance_warning(summary, config.search.objective,
                                           config.training.class_weight)
  if imbalance:
    print(f'hypertune: warning: {imbalance}', flush=True)
  print(f'search: {config.search.algorithm}, objective={config.search.objective}, '
        f'max_epochs={config.search.max_epochs}, '
        f'factor={config.search.factor}, seed={config.seed}, tuning={config.tuning}; '
        f'orchestrator: {config.orchestrator}'
        f'{"; trials on Beam" if config.search.trials_on == policies.TRIALS_BEAM else ""}',
        flush=True)
  import_tensorflow_quietly()
  from tfx_hypertune.hypertune import local_runner, results
  if config.search.parallel_trials > 1 and config.search.trials_on == policies.TRIALS_LOCAL:
    # Parallel trial workers import TensorFlow and TFX while the data components run.
    from tfx_hypertune.components.tuner import warm_pool
    from tfx_hypertune.pipeline import pipeline
    warm_pool.prewarm(pipeline.TUNER_FN)
  local_runner.run_pipeline(config, verbose=args.verbose)
  run_summary = results.summarize(config.metadata_path, config.pipeline_root)
  print(f'\nfinished in {time.monotonic() - started:.0f}s')
  for line in run_summary.lines():
    print(f'  {line}')
  print('  rows per split:       ' + ', '.join(
      f'{name} {rows}' for name, rows in summary.split_rows.items()))
  if summary.stripped_fields:
    print(f'  whitespace stripped:  around {summary.stripped_fields} field(s)')
  if summary.empty_parts:
    print(f'  empty files skipped:  {len(summary.empty_parts)} (no rows: '
          f'{", ".join(os.path.basename(p) for p in summary.empty_parts[:3])}'
          f'{", ..." if len(summary.empty_parts) > 3 else ""})')
  for note in summary.notes:
    print(f'  data note:            {note}')
  return 0


def _empty_parts_note(summary) -> str:
  if not summary.empty_parts:
    return ''
  return f' ({len(summary.empty_parts)} of them empty, skipped)'


def _label_note(summary) -> str:
  if summary.task == 'regression':
    values = [float(v) for v in summary.classes if v != '']
    return f'a numeric label from {min(values):g} to {max(values):g}'
  return f'{len(summary.classes)} classes'


def cmd_predict(args: argparse.Namespace) -> int:
  import_tensorflow_quietly()
  from tfx_hypertune.hypertune import predict
  out = open(args.output, 'w', newline='') if args.output else sys.stdout
  try:
    scores = predict.predict_csv(args.model, args.data, out)
  finally:
    if args.output:
      out.close()
  if scores:  # the CSV had the label: how the predictions compare with it
    print(', '.join(f'{name}: {value:.4f}' for name, value in scores.items()),
          file=sys.stderr if out is sys.stdout else sys.stdout)
  return 0


def cmd_report(args: argparse.Namespace) -> int:
  from tfx_hypertune.components.tuner import (files, report, search_info, spec,
                                              trials)
  from tfx_hypertune.hypertune import results
  config = config_from_args(args)
  metadata_path = (os.path.join(args.run, os.path.basename(config.metadata_path)) if args.run
                   else config.metadata_path)
  tuner = _latest_node(metadata_path, 'Tuner', results)
  results_uri = tuner.uri('tuner_results')
  info = search_info.read(results_uri)
  if not info.searched:  # the policy reused earlier hyperparameters: no search ran
    print(f'no search in the last run; hyperparameters from: '
          f'{tuner.custom("best_hyperparameters", spec.SOURCE_PROPERTY)}')
    return 0
  if args.rebuild:
    report.write_report(files.search_dir_of(results_uri), results_uri, info.carried_over,
                        objective=info.objective, direction=info.direction,
                        chosen=info.selection)
  path = files.join(results_uri, files.TRIALS_CSV)
  with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
  # Best first by the objective of that run's search, whatever the config says now.
  completed = trials.best_first([r for r in rows if trials.is_completed(r.get('status'))],
                                info.direction, score=lambda r: r['score'] or None,
                                trial_id=lambda r: r['trial_id'],
                                val_loss=lambda r: r.get('val_loss'))
  top = [{k: v for k, v in r.items() if k != 'status'} for r in completed[:args.top]]
  print(format_table(top))
  print(f'\n{len(rows)} trials ({info.objective}, best first); table: {path}')
  print(f'report: {files.join(results_uri, files.REPORT_HTML)}')
  return 0


def cmd_compile(args: argparse.Namespace) -> int:
  import_tensorflow_quietly()
  from tfx_hypertune.kubeflow import runner
  config = config_from_args(args)
  remote_data = config.data.path if '://' in config.data.path else None
  if not remote_data:
    checked = data_check.check_data(config.data.path, config.data.label,
                                    config.data.schema_path, config.data.window_size,
                                    seed=config.seed, task=config.data.task)
    config = config_lib.with_task(config, checked.task, len(checked.classes))
  elif config.data.task == 'auto':
    print(f'hypertune: note: data.task auto: {remote_data} is not read when compiling; '
          f'compiling for classification (pass --task regression for a numeric target)',
          file=sys.stderr)
  if remote_data:
    unreadable = config_lib.remote_data_readable(remote_data)
    if unreadable:
      print(f'hypertune: warning: cannot read {remote_data} from here ({unreadable}); compiling '
            f'as if it held no span folders and no schema.pbtxt (say otherwise with --schema '
            f'and --set data.span_window=N)', file=sys.stderr)
  path = runner.compile_pipeline(
      config, image=args.image or runner.DEFAULT_IMAGE, pipeline_root=args.pipeline_root,
      output_dir=os.path.abspath(args.out), target=args.target)
  what = ('pipeline spec for open-source Kubeflow Pipelines: hypertune submit, or '
          'kfp.Client.upload_pipeline' if args.target == targets.KFP else
          'PipelineJob for Vertex AI Pipelines: hypertune submit --target vertex')
  print(f'compiled {config.pipeline_name}: {path} ({what})')
  return 0


def cmd_launch(args: argparse.Namespace) -> int:
  from tfx_hypertune.kubeflow import launcher, submit
  result = launcher.launch(args.package, pipeline_root=args.pipeline_root,
                           parameters=submit.parse_params(args.param))
  pushed = result.outputs.get('Pusher', {}).get('pushed_model', [])
  destination = pushed[0].metadata.get('pushed_destination') if pushed else None
  print(f'run folder: {result.run_dir} (logs: {result.log_dir})')
  print(f'pushed model: {destination or "not pushed"}')
  return 0


def cmd_submit(args: argparse.Namespace) -> int:
  from tfx_hypertune.kubeflow import launcher, submit
  target = args.target or launcher.load_job(args.package)['backend']
  if target == targets.VERTEX:
    if not args.project:
      raise launcher.LaunchError('--project: required for Vertex AI (the Google Cloud project)')
    submit.submit_vertex(args.package, project=args.project, region=args.region,
                         parameters=submit.parse_params(args.param), schedule=args.schedule,
                         run_name=args.run_name, pipeline_root=args.pipeline_root)
    return 0
  if not args.host:
    raise launcher.LaunchError('--host: required for Kubeflow Pipelines (the KFP API '
                               'endpoint, e.g. http://localhost:8080)')
  submit.submit(args.host, args.package, experiment=args.experiment,
                pipeline_root=args.pipeline_root,
                parameters=submit.parse_params(args.param), schedule=args.schedule,
                run_name=args.run_name)
  return 0


def cmd_freeze_schema(args: argparse.Namespace) -> int:
  from tfx_hypertune.hypertune import results
  config = config_from_args(args)
  nodes = results.latest_run(config.metadata_path)
  node = nodes.get('SchemaGen') or nodes.get('ImportSchemaGen')
  if node is None:
    raise data_check.DataError(f'{config.metadata_path}: no schema in the last run')
  source = os.path.join(node.uri('schema'), config_lib.SCHEMA_FILE_NAME)
  target = args.to or os.path.join(config.data.path, config_lib.SCHEMA_FILE_NAME)
  shutil.copyfile(source, target)
  print(f'froze {source} -> {target}; later runs validate against it (ImportSchemaGen)')
  return 0


def _latest_node(metadata_path: str, node_id: str, results):
  try:
    nodes = results.latest_run(metadata_path)
  except FileNotFoundError as e:
    raise data_check.DataError(str(e)) from None
  if node_id not in nodes or not nodes[node_id].outputs:
    raise data_check.DataError(f'{metadata_path}: the last run has no {node_id} output')
  return nodes[node_id]


def format_table(rows: List[Dict[str, str]]) -> str:
  if not rows:
    return '(no trials)'
  columns = [c for c in rows[0] if any(r.get(c) not in ('', None) for r in rows)]
  cells = [[_cell(r.get(c)) for c in columns] for r in rows]
  widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
  lines = ['  '.join(c.ljust(w) for c, w in zip(columns, widths))]
  lines += ['  '.join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
  return '\n'.join(lines)


def _cell(value: Optional[str]) -> str:
  if value in (None, ''):
    return ''
  try:
    number = float(value)
  except ValueError:
    return value
  return value if number.is_integer() else f'{number:.4f}'


if __name__ == '__main__':
  sys.exit(main())
