"""Kubeflow Pipelines: compile create_pipeline(config) into a KFP v2 pipeline spec."""
