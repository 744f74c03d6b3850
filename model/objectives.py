"""The objectives our model can be searched by, per task: names only (no TensorFlow), so the
config is checked against them before anything heavy is imported. The metrics are
model/metrics.py's."""

# val_auc (two classes) and val_balanced_accuracy do not reward always predicting the most
# common class (model/metrics.py).
BALANCED_OBJECTIVES = ('val_auc', 'val_balanced_accuracy')
OBJECTIVES = {'classification': ('val_accuracy', 'val_loss', *BALANCED_OBJECTIVES),
              'regression': ('val_loss', 'val_mean_absolute_error')}
