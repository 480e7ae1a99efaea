"""Bundled data: the digits split and the trained models load and behave as documented."""
import numpy as np
import pytest
import torch

from npulab import datasets


def test_digits_split_is_fixed_and_disjoint():
    x_train, y_train, x_test, y_test = datasets.load_digits()
    assert x_train.shape == (1437, 64) and x_test.shape == (360, 64)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))
    with np.load(datasets.path("digits.npz")) as f:
        assert not set(f["train_idx"]) & set(f["test_idx"])
        assert len(f["train_idx"]) + len(f["test_idx"]) == 1797


@pytest.mark.parametrize("kind", datasets.DIGITS_MODELS)
def test_pretrained_digits_models_are_accurate(kind):
    x_train, y_train, x_test, y_test = datasets.load_digits()
    model = datasets.digits_model(kind)
    assert not model.training
    with torch.no_grad():
        acc = (model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()
    assert acc >= 0.97


def test_unknown_model_and_dataset_names():
    with pytest.raises(ValueError, match="got 'resnet'"):
        datasets.digits_model("resnet")
    with pytest.raises(ValueError, match="no bundled dataset 'nope.npz'"):
        datasets.path("nope.npz")
