"""Every benchmark script imports (make bench ran input_pipeline.py into an ImportError once,
after a module moved): the scripts are loaded as modules, their main() not run."""

import importlib.util
import os
import sys

import pytest

from tests.conftest import REPO

BENCH = os.path.join(REPO, 'bench')
SCRIPTS = sorted(name for name in os.listdir(BENCH) if name.endswith('.py'))


@pytest.mark.parametrize('script', SCRIPTS)
def test_bench_script_imports(script, monkeypatch):
  monkeypatch.syspath_prepend(BENCH)
  spec = importlib.util.spec_from_file_location(f'bench_{script[:-3]}',
                                                os.path.join(BENCH, script))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  assert script == 'common.py' or callable(getattr(module, 'main', None))
  sys.modules.pop(spec.name, None)
