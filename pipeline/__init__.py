"""Builds and runs the tfx-hypertune TFX pipeline."""
