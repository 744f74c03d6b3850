"""Accelerators for trials: where a machine has GPUs, each trial process sees one of its own
(CUDA_VISIBLE_DEVICES), the n-th local worker or Beam slot of the machine the n-th GPU, round
robin. Without GPUs nothing is set: TensorFlow runs on the CPU as it would anyway.

Read without importing TensorFlow (a Beam slot that only supervises never imports it): the
devices the environment already makes visible (CUDA_VISIBLE_DEVICES), else the NVIDIA driver's
list of GPUs (/proc/driver/nvidia/gpus/).
"""

import os
from typing import Dict, List, Optional

NVIDIA_GPUS = '/proc/driver/nvidia/gpus'
VISIBLE = 'CUDA_VISIBLE_DEVICES'


def visible_gpus(environ: Optional[Dict[str, str]] = None,
                 driver_dir: str = NVIDIA_GPUS) -> List[str]:
  """The GPU ids this process may use, as CUDA_VISIBLE_DEVICES would list them."""
  environ = os.environ if environ is None else environ
  if VISIBLE in environ:
    return [d.strip() for d in environ[VISIBLE].split(',') if d.strip() not in ('', '-1')]
  try:
    return [str(i) for i in range(len(os.listdir(driver_dir)))]
  except OSError:
    return []


def gpu_for(index: int, gpus: List[str]) -> Optional[str]:
  """The GPU of the index-th trial process of a machine (None: no GPU)."""
  return gpus[index % len(gpus)] if gpus else None


def environment_for(index: int, environ: Dict[str, str],
                    gpus: Optional[List[str]] = None) -> Dict[str, str]:
  """`environ` for the index-th trial process of this machine: with its one GPU visible."""
  gpus = visible_gpus(environ) if gpus is None else gpus
  gpu = gpu_for(index, gpus)
  return dict(environ, **{VISIBLE: gpu}) if gpu is not None else dict(environ)
