"""Seeing what a network learned: features and t-SNE maps, attention maps, attributions, its mistakes.

Every function takes a Predictor (`nt.load(run)`) and the inputs a Predictor accepts (a raw
labelled Dataset such as a run's test split, a DataFrame, texts, images), or a plain `nn.Module`
with a prepared Dataset of tensors. Attributions use Captum (`pip install 'neuronet[explain]'`);
serving never imports this package.

Example:
    >>> import neuronet as nt
    >>> from neuronet.runs.evaluate import test_split
    >>> predictor, test = nt.load("runs/digits"), test_split("runs/digits")  # doctest: +SKIP
    >>> nt.explain.tsne(predictor, test, path="tsne.png")["embedding"].shape  # doctest: +SKIP
    (360, 2)
    >>> nt.explain.attribute(predictor, test, method="lrp", path="lrp.png")  # doctest: +SKIP
"""

from neuronet.explain.attention import attention_maps
from neuronet.explain.attribution import METHODS, attribute
from neuronet.explain.features import features
from neuronet.explain.mistakes import confidently_wrong, per_class_metrics
from neuronet.explain.tsne import tsne

__all__ = ["METHODS", "attention_maps", "attribute", "confidently_wrong", "features", "per_class_metrics", "tsne"]
