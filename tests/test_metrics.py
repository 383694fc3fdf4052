import pytest
import torch
from sklearn import metrics as skm

from neuronet.tasks import METRICS, TASKS, compute_metrics

CLASSIFICATION, REGRESSION = TASKS.get("classification")(), TASKS.get("regression")()

torch.manual_seed(0)
LOGITS = torch.randn(40, 3)
LABELS = torch.randint(0, 3, (40,))
VALUES = torch.randn(40, 2)
TARGETS = VALUES + 0.5 * torch.randn(40, 2)

REFERENCE = {  # every metric against scikit-learn
    "accuracy": lambda t, p: skm.accuracy_score(t, p),
    "balanced_accuracy": lambda t, p: skm.balanced_accuracy_score(t, p),
    "precision": lambda t, p: skm.precision_score(t, p, average="macro", zero_division=0),
    "recall": lambda t, p: skm.recall_score(t, p, average="macro", zero_division=0),
    "f1": lambda t, p: skm.f1_score(t, p, average="macro", zero_division=0),
    "mae": lambda t, p: skm.mean_absolute_error(t, p),
    "mse": lambda t, p: skm.mean_squared_error(t, p),
    "rmse": lambda t, p: skm.root_mean_squared_error(t, p),
    "r2": lambda t, p: skm.r2_score(t, p),
    "pr_auc": None,  # from probabilities: test_pr_auc_is_macro_average_precision
    "perplexity": None, "bits_per_token": None, "token_accuracy": None,  # test_token_metrics_by_hand
    "wer": None, "cer": None,  # against jiwer: test_transcription.py
    "map": None, "map50": None,  # pycocotools on hand-worked boxes: test_detection.py
    "mean_iou": None, "dice": None,  # by hand: test_segmentation.py, test_segmentation_metrics.py
}


def test_every_metric_is_checked():
    assert set(METRICS.names()) == set(REFERENCE)


@pytest.mark.parametrize("name", sorted(n for n in REFERENCE if REFERENCE[n]))
def test_metric_matches_scikit_learn(name):
    if "classification" in METRICS.get(name).tasks:
        got = compute_metrics([name], LOGITS, LABELS, CLASSIFICATION)[name]
        expected = REFERENCE[name](LABELS.numpy(), LOGITS.argmax(1).numpy())
    else:
        got = compute_metrics([name], VALUES, TARGETS, REGRESSION)[name]
        expected = REFERENCE[name](TARGETS.numpy(), VALUES.numpy())
    assert got == pytest.approx(float(expected), rel=1e-5)


def test_binary_predictions_threshold_the_logit_at_zero():
    assert CLASSIFICATION.labels(torch.tensor([[-0.1], [0.2], [3.0]])).tolist() == [0, 1, 1]


def test_pr_auc_is_macro_average_precision():
    proba = LOGITS.softmax(1).numpy()
    onehot = (LABELS.numpy()[:, None] == range(3)).astype(int)
    expected = skm.average_precision_score(onehot, proba, average="macro")
    assert compute_metrics(["pr_auc"], LOGITS, LABELS, CLASSIFICATION)["pr_auc"] == pytest.approx(expected)
    binary_logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])
    binary_y = torch.tensor([1, 0, 0, 0])
    assert compute_metrics(["pr_auc"], binary_logits, binary_y, CLASSIFICATION)["pr_auc"] == pytest.approx(1.0)


def test_balanced_accuracy_of_targets_missing_a_predicted_class_is_scikit_learns_without_its_warning():
    import warnings

    targets = LABELS.clamp(max=1)  # class 2 is never a target, but is predicted
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (was: scikit-learn's UserWarning on the console)
        got = compute_metrics(["balanced_accuracy"], LOGITS, targets, CLASSIFICATION)["balanced_accuracy"]
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        expected = skm.balanced_accuracy_score(targets.numpy(), LOGITS.argmax(1).numpy())
    assert got == pytest.approx(expected)


def test_token_metrics_by_hand():
    """Three kept tokens (one padding): negative log-likelihoods 0.5, 1.0, 1.5 nats, two predicted right."""
    task = TASKS.get("language_modeling")()
    targets = torch.tensor([[5, 6, 0], [7, 0, 0]])
    kept = (torch.tensor([[0.5, 1.0, 9.0], [1.5, 9.0, 9.0]]), torch.tensor([[5, 2, 0], [7, 1, 1]]))
    got = compute_metrics(["perplexity", "bits_per_token", "token_accuracy"], kept, targets, task)
    assert got["perplexity"] == pytest.approx(2.718281828459045)  # exp(mean 1.0)
    assert got["bits_per_token"] == pytest.approx(1 / 0.6931471805599453)
    assert got["token_accuracy"] == pytest.approx(2 / 3)
    seq2seq = TASKS.get("seq2seq")()
    assert compute_metrics(["token_accuracy"], kept, targets, seq2seq)["token_accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(Exception, match="does not apply"):
        compute_metrics(["perplexity"], LOGITS, LABELS, CLASSIFICATION)
