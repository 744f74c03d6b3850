"""Layer 4, the application: the `hypertune` command, the local runner, reading results back
from ML Metadata, `predict` and the pre-flight data check. It may import every layer below
(components, model, pipeline, kubeflow); nothing imports it.
"""
