"""The package installs under one import name: the built wheel, installed with --no-deps
into a fresh venv, puts only tfx_hypertune (and its dist-info) into site-packages, and the
command and the public Tuner come from there."""

import os
import shutil
import subprocess
import sys
import zipfile

from tests.conftest import REPO

# What setup.py builds from: the package's own folder and the layer folders it maps.
SOURCES = ('setup.py', 'tfx_hypertune', 'components', 'model', 'pipeline', 'kubeflow',
           'hypertune')


def _build_wheel(tmp_path):
  source = tmp_path / 'source'
  for name in SOURCES:
    copy = shutil.copytree if os.path.isdir(os.path.join(REPO, name)) else shutil.copy
    copy(os.path.join(REPO, name), source / name if copy is shutil.copytree else source)
  subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--quiet', '--no-deps',
                  '--no-build-isolation', '-w', str(tmp_path / 'dist'), str(source)],
                 check=True, capture_output=True)
  (wheel,) = (tmp_path / 'dist').glob('*.whl')
  return wheel


def test_the_wheel_installs_only_tfx_hypertune(tmp_path):
  (tmp_path / 'source').mkdir()
  wheel = _build_wheel(tmp_path)
  with zipfile.ZipFile(wheel) as archive:
    top = {name.split('/')[0] for name in archive.namelist()}
  assert top == {'tfx_hypertune', 'tfx_hypertune-0.1.0.dist-info'}
  with zipfile.ZipFile(wheel) as archive:
    names = set(archive.namelist())
  assert {'tfx_hypertune/__init__.py', 'tfx_hypertune/components/tuner/executor.py',
          'tfx_hypertune/model/tuner_fn.py', 'tfx_hypertune/hypertune/cli.py',
          'tfx_hypertune/kubeflow/entrypoint.py'} <= names
  # A fresh venv: pip install --no-deps of the wheel.
  venv = tmp_path / 'venv'
  subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
  uv = os.path.join(os.path.dirname(sys.executable), 'uv')
  subprocess.run([uv, 'pip', 'install', '--quiet', '--offline', '--no-deps', '--python',
                  str(venv / 'bin' / 'python'), str(wheel)], check=True, capture_output=True)
  (site,) = venv.glob('lib/python*/site-packages')
  installed = {name for name in os.listdir(site) if not name.startswith('_')}
  assert installed == {'tfx_hypertune', 'tfx_hypertune-0.1.0.dist-info'}, installed
  with open(venv / 'bin' / 'hypertune') as f:
    assert 'from tfx_hypertune.hypertune.cli import main' in f.read()
