"""Building blocks by name: activations and losses; box operations and NMS for detection."""

from neuronet.nn.activations import ACTIVATIONS, Step, activation
from neuronet.nn.boxes import (
    batched_nms, box_area, box_iou, clip_boxes, cxcywh_to_xyxy, draw_gaussian, flip_boxes_horizontal, gaussian_radius,
    heatmap_peaks, nms, scale_boxes, valid_boxes, xywh_to_xyxy, xyxy_to_cxcywh, xyxy_to_xywh,
)
from neuronet.nn.losses import LOSSES, BinaryCrossEntropy, TokenCrossEntropy, TokenScores, VAELoss, loss_fn

__all__ = ["ACTIVATIONS", "LOSSES", "BinaryCrossEntropy", "Step", "TokenCrossEntropy", "TokenScores", "VAELoss", "activation", "loss_fn",
           # boxes and non-maximum suppression (object detection)
           "batched_nms", "box_area", "box_iou", "clip_boxes", "cxcywh_to_xyxy", "draw_gaussian",
           "flip_boxes_horizontal", "gaussian_radius", "heatmap_peaks", "nms", "scale_boxes", "valid_boxes",
           "xywh_to_xyxy", "xyxy_to_cxcywh", "xyxy_to_xywh"]
