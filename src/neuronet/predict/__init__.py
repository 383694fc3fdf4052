"""Prediction from a trained run: `nt.load(run)` returns a light Predictor (no training code imported)."""

from neuronet.predict.predictor import Predictor, load

__all__ = ["Predictor", "load"]
