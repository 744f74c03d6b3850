"""User functions and custom components that TFX loads by dotted path (e.g.
`components.transform.preprocessing_fn`), so the same code runs locally and in the
Kubeflow image."""
