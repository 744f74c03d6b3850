"""tfx-hypertune: hyperparameter search inside a production TFX pipeline.

Install from the lock file (see Makefile): the lock pins the whole TFX 1.16 stack; this file
names only what the package imports directly, with loose ranges.
"""

from setuptools import find_packages, setup

LAYERS = ('components', 'model', 'pipeline', 'kubeflow', 'hypertune')

setup(
    name='tfx-hypertune',
    version='0.1.0',
    description='A TFX pipeline with Keras Tuner search, runnable locally and on Kubeflow',
    python_requires='>=3.10,<3.11',
    # One import name, tfx_hypertune; its layers stay top-level folders of the repository
    # (docs/layout.md), bottom up: components, model, pipeline, kubeflow, hypertune.
    packages=['tfx_hypertune'] + [f'tfx_hypertune.{name}' for name in find_packages(
        include=[f'{layer}{rest}' for layer in LAYERS for rest in ('', '.*')])],
    package_dir={'tfx_hypertune': 'tfx_hypertune',
                 **{f'tfx_hypertune.{layer}': layer for layer in LAYERS}},
    install_requires=[
        'tfx[kfp]==1.16.0',
        'apache-beam[gcp]==2.61.0',
        'keras-tuner==1.4.8',
        'pyyaml',
        'matplotlib',
    ],
    extras_require={'test': ['pytest', 'scikit-learn']},
    entry_points={'console_scripts': ['hypertune=tfx_hypertune.hypertune.cli:main']},
)
