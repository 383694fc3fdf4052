"""Tasks: what a model's outputs mean, end to end — default loss, collation, decoded predictions,
metrics, the prediction table, the server's response schema, the page's widget and the plots.

Example:
    >>> from neuronet.tasks import TASKS
    >>> TASKS.names()
    ['classification', 'regression', 'forecasting', 'reconstruction', 'generation', 'reinforcement', 'language_modeling', 'seq2seq', 'transcription', 'detection', 'segmentation']
    >>> TASKS.get("classification")().default_loss
    'cross_entropy'
"""

# Registration order is the order `TASKS.names()` lists them in.
from neuronet.tasks.base import TASKS, Task, get_task, infer_task, tasks_that
from neuronet.tasks.classification import Classification
from neuronet.tasks.regression import Forecasting, Regression
from neuronet.tasks.reconstruction import Reconstruction
from neuronet.tasks.generation import Generation
from neuronet.tasks.reinforcement import Reinforcement
from neuronet.tasks.language import LanguageModeling, Seq2Seq
from neuronet.tasks.transcription import Transcription
from neuronet.tasks.detection import Detection
from neuronet.tasks.segmentation import Segmentation
from neuronet.tasks.metrics import METRICS, Metric, check_metrics, compute_metrics
from neuronet.tasks.baselines import BASELINES, BaselineRows, Baselines, fit_baselines

__all__ = ["BASELINES", "METRICS", "TASKS", "BaselineRows", "Baselines", "Classification", "Detection", "Forecasting", "Generation", "LanguageModeling", "Metric", "Reconstruction", "Regression", "Reinforcement", "Segmentation", "Seq2Seq", "Transcription",
           "Task", "check_metrics", "compute_metrics", "fit_baselines", "get_task", "infer_task", "tasks_that"]
