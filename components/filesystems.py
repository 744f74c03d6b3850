"""Filesystems beyond TensorFlow's built-in ones (local, gs://, ram://).

TensorFlow 2.16 reads and writes s3:// (and so MinIO's S3 API) only once tensorflow-io's
filesystem plugins are loaded. Every process of ours that may touch such a URI through TFX's
fileio or tf.io.gfile calls `support(uri)` first: the Tuner's executor and its worker
processes. (TFX's own executors load their components' modules in the same process, so a
component whose executor imports this module covers its process.)

Endpoints and credentials come from the environment, as tensorflow-io reads them:
S3_ENDPOINT (e.g. http://minio-service.kubeflow:9000), AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION, S3_USE_HTTPS, S3_VERIFY_SSL.
"""

PLUGIN_SCHEMES = ('s3://',)


def support(*uris: str) -> None:
  """Loads the filesystem plugin for any of these URIs' schemes that needs one."""
  if any(str(uri).startswith(PLUGIN_SCHEMES) for uri in uris if uri):
    import tensorflow_io  # noqa: F401
