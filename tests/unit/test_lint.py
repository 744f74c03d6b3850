"""The one linter, configured in ruff.toml, over the whole repository: `make test` fails on any
finding, as CI runs it. (Where a rule is set aside for a line, its `# noqa: CODE` says why.)"""

import os
import subprocess
import sys

from tests.conftest import REPO

RUFF = os.path.join(os.path.dirname(sys.executable), 'ruff')


def test_ruff_finds_nothing():
  done = subprocess.run([RUFF, 'check', '--no-cache', '--output-format', 'concise', '.'],
                        cwd=REPO, capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]


def test_the_linter_can_fail(tmp_path):
  """The same configuration on a file with an unused import and an undefined name."""
  bad = tmp_path / 'bad.py'
  bad.write_text('import os\n\n\ndef f():\n  return undefined_name\n')
  done = subprocess.run([RUFF, 'check', '--no-cache', '--config',
                         os.path.join(REPO, 'ruff.toml'), str(bad)],
                        capture_output=True, text=True, check=False)
  assert done.returncode == 1 and 'F401' in done.stdout and 'F821' in done.stdout
