"""Run directories: train from a config, write every artifact, read them back."""

from neuronet.runs.artifacts import LoadedRun, evaluate_run, load_run, predict_file
from neuronet.runs.files import RunFiles
from neuronet.runs.pipeline import RunInterrupted, RunResult, train_run
from neuronet.runs.prepare import Prepared, make_trainer, prepare

__all__ = ["LoadedRun", "Prepared", "RunFiles", "RunInterrupted", "RunResult", "evaluate_run", "load_run",
           "make_trainer", "predict_file", "prepare", "train_run"]
