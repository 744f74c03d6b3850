"""tfx-hypertune: hyperparameter search inside a production TFX pipeline.

Install from the lock file (see Makefile): the lock pins the whole TFX 1.16 stack; this file
names only what the package imports directly, with loose ranges.
"""

from setuptools import find_packages, setup

setup(
    name='tfx-hypertune',
    version='0.1.0',
    description='A TFX pipeline with Keras Tuner search, runnable locally and on Kubeflow',
    python_requires='>=3.10,<3.11',
    # The layers, bottom up (README, Layout): components, model, pipeline, kubeflow, hypertune.
    packages=find_packages(include=['components', 'components.*', 'model', 'model.*',
                                    'pipeline', 'pipeline.*', 'kubeflow', 'kubeflow.*',
                                    'hypertune', 'hypertune.*']),
    install_requires=[
        'tfx[kfp]==1.16.0',
        'apache-beam[gcp]==2.61.0',
        'keras-tuner==1.4.8',
        'pyyaml',
        'matplotlib',
    ],
    extras_require={'test': ['pytest', 'scikit-learn']},
    entry_points={'console_scripts': ['hypertune=hypertune.cli:main']},
)
