"""The two Kubeflow backends a pipeline compiles for, launches on and is submitted to. Imports
nothing, so the command line offers them before anything heavy loads."""

KFP = 'kfp'        # open-source Kubeflow Pipelines 2.x: a pipeline spec YAML
VERTEX = 'vertex'  # Vertex AI Pipelines: a PipelineJob JSON
TARGETS = (KFP, VERTEX)
