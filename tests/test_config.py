import pytest

from neuronet.config import RunConfig, apply_overrides, load_config, to_yaml
from neuronet.errors import ConfigError


def test_defaults_are_the_digits_cnn_demo():
    cfg = load_config()
    assert (cfg.data.source, cfg.model.type) == ("digits", "auto")  # the CNN is chosen from the data
    assert cfg.train_options() == {}  # every training option takes the Trainer's own default


def test_the_train_section_is_the_trainer_signature():
    """One source of truth: every Trainer argument is a train: key (or is documented as living elsewhere)."""
    import inspect

    from neuronet.config import TRAIN_SECTION_EXCLUDES, TrainConfig
    from neuronet.rl import RLTrainer
    from neuronet.train import GANTrainer, Trainer

    trainer_args = [p for p in inspect.signature(Trainer.__init__).parameters if p != "self"]
    rl_args = [p for p in inspect.signature(RLTrainer.__init__).parameters if p not in ("self", "agent")]
    keys = list(TrainConfig.model_fields)
    n = len(trainer_args) - len([a for a in trainer_args if a in TRAIN_SECTION_EXCLUDES])
    assert [a for a in trainer_args if a not in TRAIN_SECTION_EXCLUDES] == keys[:n]
    assert keys[n] == "betas" and "betas" in inspect.signature(GANTrainer.__init__).parameters
    rl_only = [a for a in rl_args if a not in trainer_args and a not in TRAIN_SECTION_EXCLUDES]
    assert keys[n + 1:] == rl_only  # the RL trainer's own arguments: steps, log_every, eval_every, ...
    assert all(TrainConfig.model_fields[k].default is None for k in keys)  # the defaults are the trainers'
    for key in keys:  # and every key reaches a trainer: its constraint table checks it
        assert key in Trainer.params or key in GANTrainer.params or key in RLTrainer.params
    assert set(RLTrainer.params) == set(rl_args)  # the RL trainer's table is its signature


def test_yaml_round_trip_and_model_kwargs(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data: {source: iris, val: 0.2}\nmodel: {type: mlp, hidden: [8, 8]}\n"
                    "train: {lr: 0.01, schedule: {type: step, gamma: 0.5}}\n")
    cfg = load_config(path)
    assert cfg.model.kwargs() == {"hidden": [8, 8]} and cfg.train.schedule == {"type": "step", "gamma": 0.5}
    again = tmp_path / "again.yaml"
    again.write_text(to_yaml(cfg))
    assert load_config(again) == cfg


def test_overrides_parse_values_as_yaml():
    cfg = load_config(None, ["train.lr=3e-4", "model.type=mlp", "model.hidden=[4, 4]", "train.early_stopping=null"])
    assert cfg.train.lr == 3e-4 and cfg.model.kwargs() == {"hidden": [4, 4]} and cfg.train.early_stopping is None
    assert apply_overrides({}, ["a.b.c=1"]) == {"a": {"b": {"c": 1}}}
    with pytest.raises(ConfigError, match="must look like 'section.key=value'"):
        load_config(None, ["train.lr"])


@pytest.mark.parametrize("override, message", [
    ("train.lrr=0.1", r"Unknown key 'train.lrr' .* Did you mean 'lr'\?"),
    ("trian.lr=0.1", r"Unknown key 'trian' .* Did you mean 'train'\?"),
    ("data.sorce=iris", r"Did you mean 'source'\?"),
    ("train.lr=-1", r"The 'lr' parameter of Trainer must be a float > 0. Got -1 instead. \(at 'train.lr'"),
    ("train.optimizer=adm", r"Unknown optimizer 'adm'. Did you mean 'adam'\?.*at 'train.optimizer'"),
    ("train.loss=mse2", r"Unknown loss 'mse2'"),
    ("model.type=resnet9", r"Unknown model 'resnet9'"),
    ("data.source=mnist", r"Unknown dataset 'mnist'"),
    ("train.schedule={type: cosin}", r"Unknown schedule 'cosin'"),
    ("train.metrics=[acc]", r"Unknown metric 'acc'. Did you mean 'accuracy'"),
    ("data.val=0.9", r"val \+ test must be below 1"),
    ("train.batch_size=0", r"'batch_size' parameter of Trainer must be an int > 0. Got 0 instead. \(at 'train.batch_size'"),
    ("train.early_stopping={patiense: 3}", r"EarlyStopping has no parameter 'patiense'. Did you mean 'patience'"),
    ("train.checkpoint={every_step: 3}", r"no parameter 'every_step'. Did you mean 'every_steps'"),
    ("train.augment=[{type: flip}]", r"Unknown augmentation 'flip'"),
    ("model={type: cnn, hiden: [3]}", r"Model 'cnn' has no parameter 'hiden'"),
    ("model={type: cnn, pool_first: maybe}", r"Model 'cnn' takes pool_first as bool; got 'maybe' .*'model.pool_first'"),
    ("model={type: cnn, channels: [a, 8]}", r"Model 'cnn' takes channels as Sequence\[int\]; got \['a', 8\]"),
    ("data.task=regression", r"'data.task' .* has moved: set task \(top level\)"),
    ("task=clasification", r"Unknown task 'clasification'. Did you mean 'classification'"),
])
def test_bad_config_values_are_one_clear_sentence(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_model_arguments_are_converted_to_their_annotated_types():
    model = load_config(None, ["model={type: cnn, pool_first: 'false', dropout: 0, channels: [8]}"]).model.kwargs()
    assert model["pool_first"] is False and model["dropout"] == 0 and model["channels"] == [8]


def test_bad_config_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(bad)


def test_file_sources_are_accepted_as_paths():
    assert RunConfig.model_validate({"data": {"source": "my/table.csv", "target": "y"}}).data.source == "my/table.csv"


def test_scientific_notation_is_a_float_everywhere(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("train: {lr: 3e-4, schedule: {type: exponential, gamma: 1e-1}}\n")
    cfg = load_config(path, ["train.weight_decay=1e-5"])
    assert cfg.train.lr == 3e-4 and cfg.train.schedule["gamma"] == 0.1 and cfg.train.weight_decay == 1e-5


def test_a_gan_config_refuses_trainer_options_it_would_ignore():
    with pytest.raises(ConfigError, match="train.optimizer does not apply to model 'dcgan': GANTrainer"):
        load_config(None, ["model.type=dcgan", "train.optimizer=sgd"])
    assert load_config(None, ["model.type=dcgan", "train.betas=[0.5, 0.9]"]).train.betas == [0.5, 0.9]
    with pytest.raises(ConfigError, match="'betas' parameter of Trainer|train.betas does not apply"):
        load_config(None, ["model.type=mlp", "train.betas=[0.5, 0.9]"])
