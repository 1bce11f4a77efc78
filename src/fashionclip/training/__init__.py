"""Contrastive training and fine-tuning of Hugging Face CLIP checkpoints.

>>> from fashionclip.training import TrainConfig, DataSource, train
>>> config = TrainConfig(data=[DataSource("pairs.csv")], output="my-model", model="fashion-clip")
>>> result = train(config)  # doctest: +SKIP
"""

from fashionclip.training.config import Augment, DataSource, TrainConfig, TrainConfigError
from fashionclip.training.trainer import Trainer, TrainResult, train

__all__ = ["Augment", "DataSource", "TrainConfig", "TrainConfigError", "TrainResult", "Trainer", "train"]
