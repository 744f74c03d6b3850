"""The model versions a Pusher wrote: `<serving dir>/<version>/`, where the version is the
Pusher's timestamp. One rule for everything that looks for "the newest model" (the Evaluator's
baseline, `hypertune predict`, the tests): a version counts once its `saved_model.pb` is there.
TFX's Pusher copies that file last, so a copy cut short by a kill is never taken for a model.
Through TFX's fileio: the serving dir may be a bucket."""

import posixpath
from typing import List, Optional

from tfx.dsl.io import fileio

SAVED_MODEL_FILE = 'saved_model.pb'


def is_saved_model(path: str) -> bool:
  return fileio.exists(posixpath.join(path, SAVED_MODEL_FILE))


def model_versions(serving_dir: str, limit: Optional[int] = None) -> List[str]:
  """The whole model versions under `serving_dir`, newest first (at most `limit` of the newest
  version folders are looked at)."""
  if not serving_dir or not fileio.isdir(serving_dir):
    return []
  versions = sorted((name.strip('/') for name in fileio.listdir(serving_dir)
                     if name.strip('/').isdigit()), key=int, reverse=True)
  paths = [posixpath.join(serving_dir, v) for v in versions[:limit]]
  return [path for path in paths if is_saved_model(path)]
