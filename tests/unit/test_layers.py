"""The layer rule on the real import graph: each layer imports only from layers below it,
and no module imports itself back through a cycle. Read from the source (ast), so imports
inside functions count too."""

import ast
import os

from tests.conftest import REPO

# Bottom up. A module may import its own layer and the layers before it in this list.
LAYERS = ['components', 'model', 'pipeline', 'kubeflow', 'hypertune']
PACKAGE = 'tfx_hypertune'
# Within the platform, the model code may use only the search API (and what it imports).
MODEL_MAY_IMPORT = {'tfx_hypertune.components.tuner.search'}


def _modules():
  for layer in LAYERS:
    for folder, _, files in os.walk(os.path.join(REPO, layer)):
      for name in files:
        if name.endswith('.py'):
          path = os.path.join(folder, name)
          module = os.path.relpath(path, REPO)[:-3].replace(os.sep, '.')
          # Each layer folder installs as tfx_hypertune.<layer> (setup.py).
          yield f'{PACKAGE}.{module.removesuffix(".__init__")}', path


def _imports(path):
  tree = ast.parse(open(path, encoding='utf-8').read())
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      yield node.module
      # `from tfx_hypertune.components.tuner import spec` imports the module ...tuner.spec
      yield from (f'{node.module}.{alias.name}' for alias in node.names)


def _graph():
  modules = dict(_modules())
  return {module: sorted({name for name in _imports(path) if name in modules
                          and name != module})
          for module, path in modules.items()}


def _layer(module):
  return LAYERS.index(module.split('.')[1])


def _upward_imports(graph):
  return [(module, target) for module, targets in graph.items() for target in targets
          if _layer(target) > _layer(module)]


def test_every_import_points_down_or_sideways():
  assert _upward_imports(_graph()) == []


def test_model_code_uses_only_the_search_api_of_the_platform():
  graph = _graph()
  used = {target for module, targets in graph.items() if module.startswith(f'{PACKAGE}.model')
          for target in targets if target.startswith(f'{PACKAGE}.components')}
  assert used <= MODEL_MAY_IMPORT | {f'{PACKAGE}.components', f'{PACKAGE}.components.tuner'}, used


def test_no_import_cycles():
  graph = _graph()
  state = {}

  def visit(module, stack):
    state[module] = 'open'
    for target in graph[module]:
      if state.get(target) == 'open':
        raise AssertionError('import cycle: ' + ' -> '.join(stack + [module, target]))
      if target not in state:
        visit(target, stack + [module])
    state[module] = 'done'

  for module in graph:
    if module not in state:
      visit(module, [])


def test_the_rule_can_fail():
  """The checks above see real edges (the application imports the pipeline), and the same
  graph with one upward import added (the pipeline importing the command) is caught."""
  graph = _graph()
  assert 'tfx_hypertune.pipeline.pipeline' in graph['tfx_hypertune.hypertune.local_runner']
  graph['tfx_hypertune.pipeline.config'] = [*graph['tfx_hypertune.pipeline.config'],
                                            'tfx_hypertune.hypertune.cli']
  assert _upward_imports(graph) == [('tfx_hypertune.pipeline.config',
                                     'tfx_hypertune.hypertune.cli')]
