"""Model zoo, registered by name. Every model is a plain `torch.nn.Module`, one readable file each.

Example:
    >>> import neuronet as nt
    >>> model = nt.models.build_model("cnn", (1, 8, 8), 10)
"""

from neuronet.models.autoencoder import VAE, Autoencoder, ConvAutoencoder, anomaly_scores
from neuronet.models.centernet import CenterNet
from neuronet.models.cnn import CNN
from neuronet.models.ctc import ctc_beam_search, ctc_greedy
from neuronet.models.decoding import beam_search, filter_logits, generate, sample_next
from neuronet.models.gan import DCGAN
from neuronet.models.gpt import GPT
from neuronet.models.inception import Inception
from neuronet.models.mlp import MLP
from neuronet.models.perceptron import Perceptron, perceptron_rule
from neuronet.models.pretrained import Pretrained
from neuronet.models.recurrent import GRU, LSTM, RNN, RecurrentNet
from neuronet.models.registry import MODELS, as_shape, build_model, init_seed
from neuronet.models.resnet import ResNet
from neuronet.models.rnn_seq2seq import RNNSeq2Seq
from neuronet.models.seq2seq import TransformerSeq2Seq
from neuronet.models.speech import CTCOutput, SpeechCTC
from neuronet.models.transformer import MultiHeadSelfAttention, TransformerEncoder
from neuronet.models.unet import UNet
from neuronet.models.vgg import VGG

__all__ = [
    "CNN", "CTCOutput", "CenterNet", "DCGAN", "VAE", "Autoencoder", "ConvAutoencoder", "anomaly_scores", "GPT", "GRU", "Inception", "LSTM", "MLP", "MODELS", "MultiHeadSelfAttention", "Perceptron", "Pretrained", "RNN", "RNNSeq2Seq", "RecurrentNet", "ResNet", "SpeechCTC",
    "TransformerEncoder", "TransformerSeq2Seq", "UNet", "VGG", "as_shape", "beam_search", "build_model", "ctc_beam_search", "ctc_greedy", "filter_logits", "generate", "init_seed", "perceptron_rule",
    "sample_next",
]
