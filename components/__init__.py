"""Layer 0, the platform: reusable TFX components with their executors (our Tuner, the
span-window ExampleGen, the Evaluator with a threshold parameter, the SchemaGate) and the
search API the model code builds its tuner with (`components.tuner.search`).

Knows TFX and Keras Tuner, nothing of this project's model, pipeline or application.
"""
