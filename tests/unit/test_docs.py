"""The documentation names only what exists: every repository path, `make` target and
`hypertune` subcommand that README.md, docs/*.md, tests/README.md and kubeflow/README.md name.

What counts as named:
- a path: a backticked token, or a Markdown link target, that looks like a repository path:
  it ends in one of PATH_SUFFIXES, or contains a `/` and ends in one, ends in `/`, or starts
  with a top-level entry of the repository. In a backticked command (words separated by
  spaces) only the words that start with a top-level entry count. URLs, placeholders and paths
  of runs are not repository paths (NOT_PATHS). A path exists when it does relative to the
  repository root or to the document's folder; a path in an installed package (tfx/,
  keras_tuner/) exists when it does in that package; a bare file name the Tuner writes
  (components/tuner/files.py) is an output, not a repository file;
- `make X` and `hypertune X`, in backticks or in code blocks.
"""

import ast
import glob
import importlib.util
import os
import re

from tfx_hypertune.hypertune import cli

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ('README.md', 'docs/*.md', 'tests/README.md', 'kubeflow/README.md')

PATH_SUFFIXES = ('.py', '.md', '.yaml', '.csv', '.pbtxt', '.txt', '.toml', '.in', '.lock')
# Placeholders, URLs and what runs write: not paths of the repository.
NOT_PATHS = ('<', '{', '*', '...', 'MY_', 'X.csv', '$', '://')
NOT_PATH_PREFIXES = ('runs/', 'build/', '/tmp', '/data', 'gs://', 's3://', 'minio://')
# Installed packages whose files the docs may name by their path inside the package.
INSTALLED = ('tfx', 'keras_tuner')

FENCE = re.compile(r'^\s*```.*?^\s*```', re.M | re.S)
INLINE = re.compile(r'`([^`\n]+)`')
LINK = re.compile(r'\[[^\]\n]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
MAKE = re.compile(r'(?<![\w./-])make\s+([A-Za-z][\w-]*)')
HYPERTUNE = re.compile(r'(?<![\w.-])hypertune\s+([A-Za-z][\w-]*)')


def _top_level():
  return {name for name in os.listdir(REPO) if not name.startswith('.')}


def _output_names():
  """The file names the Tuner writes (string constants of components/tuner/files.py)."""
  tree = ast.parse(open(os.path.join(REPO, 'components', 'tuner', 'files.py')).read())
  return {node.value.value for node in tree.body
          if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
          and isinstance(node.value.value, str) and node.value.value.endswith(PATH_SUFFIXES)}


def _looks_like_path(token, top_level):
  if not token or any(mark in token for mark in NOT_PATHS) or token.startswith(
      NOT_PATH_PREFIXES) or token.startswith('-'):
    return False
  first = token.split('/', 1)[0]
  return (token.endswith(PATH_SUFFIXES) or token.endswith('/')
          or ('/' in token and first in top_level | {'.', '..'} | set(INSTALLED)))


def named_paths(text):
  """The repository paths a Markdown text names (see the module docstring)."""
  top_level = _top_level()
  prose = FENCE.sub('', text)
  paths = []
  for span in INLINE.findall(prose):
    words = span.split()
    if len(words) == 1:
      candidates = words
    else:  # a command: only its words that start with a top-level entry
      candidates = [w for w in words if w.split('/', 1)[0] in top_level]
    paths += [w for w in candidates if _looks_like_path(w, top_level)]
  for target in LINK.findall(prose):
    target = target.split('#', 1)[0]
    if target and _looks_like_path(target, top_level | {target.split('/', 1)[0]}):
      paths.append(target)
  return paths


def _exists(path, doc_dir):
  plain = path.rstrip('/')
  if os.path.exists(os.path.join(REPO, plain)) or os.path.exists(os.path.join(doc_dir, plain)):
    return True
  first, _, rest = plain.partition('/')
  if first in INSTALLED and rest:
    spec = importlib.util.find_spec(first)
    return any(os.path.exists(os.path.join(location, rest))
               for location in (spec.submodule_search_locations if spec else []))
  return False


def missing_paths(text, doc_dir=REPO):
  outputs = _output_names()
  return [path for path in named_paths(text)
          if not _exists(path, doc_dir) and not ('/' not in path and path in outputs)]


def _code(text):
  """Inline code spans and code blocks: where commands are written."""
  blocks = FENCE.findall(text)
  return blocks + INLINE.findall(FENCE.sub('', text))


def make_targets():
  with open(os.path.join(REPO, 'Makefile')) as f:
    return set(re.findall(r'^([A-Za-z][\w-]*)\s*:(?!=)', f.read(), re.M))


def subcommands():
  parser = cli._parser()
  for action in parser._actions:
    if action.choices and hasattr(action, 'add_parser'):
      return set(action.choices)
  raise AssertionError('hypertune/cli.py: no subcommands found')


def unknown_commands(text, targets=None, commands=None):
  targets = make_targets() if targets is None else targets
  commands = subcommands() if commands is None else commands
  unknown = []
  for code in _code(text):
    unknown += [f'make {t}' for t in MAKE.findall(code) if t not in targets]
    unknown += [f'hypertune {c}' for c in HYPERTUNE.findall(code) if c not in commands]
  return unknown


def _documents():
  paths = sorted({p for pattern in DOCS for p in glob.glob(os.path.join(REPO, pattern))})
  assert len(paths) >= len(DOCS)
  for path in paths:
    with open(path, encoding='utf-8') as f:
      yield os.path.relpath(path, REPO), os.path.dirname(path), f.read()


def test_every_named_path_exists():
  missing = {name: missing_paths(text, doc_dir) for name, doc_dir, text in _documents()}
  assert not {name: paths for name, paths in missing.items() if paths}


def test_every_make_target_and_hypertune_subcommand_exists():
  unknown = {name: unknown_commands(text) for name, _, text in _documents()}
  assert not {name: found for name, found in unknown.items() if found}


def test_the_checker_catches_what_does_not_exist():
  text = ('Scripts in `tests/s3/`, see `components/tuner/parallel.py` and '
          '[the guide](docs/no-such-page.md#top); `tests/conftest.py` and `docs/` exist; '
          '`runs/hypertune-digits/serving`, `<pipeline_root>/Tuner/`, `N/A`, '
          '`https://example.com/a.py` and `trials.csv` are not repository paths.\n'
          '```\nmake run\nmake deploy\n.venv/bin/hypertune run\nhypertune train --fast\n```\n'
          'Then `make test` and `hypertune frobnicate`; `tfx-hypertune reads` is prose.\n')
  assert missing_paths(text) == ['tests/s3/', 'components/tuner/parallel.py',
                                 'docs/no-such-page.md']
  assert sorted(unknown_commands(text)) == ['hypertune frobnicate', 'hypertune train',
                                            'make deploy']


def test_a_path_may_be_relative_to_its_document_or_inside_an_installed_package():
  tests_dir = os.path.join(REPO, 'tests')
  assert missing_paths('`unit/test_docs.py` and [top](../README.md)', tests_dir) == []
  assert missing_paths('`unit/test_docs.py`') == ['unit/test_docs.py']
  assert missing_paths('`tfx/components/tuner/executor.py` and `tfx/no_such_module.py`') == [
      'tfx/no_such_module.py']
