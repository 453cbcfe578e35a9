"""Zero-cost proxies: every registered proxy on every kind of network, plus exact checks
of each definition (REFERENCES.md section 9) on networks small enough to do by hand."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from trainers.proxies import NotApplicable, get_proxy, proxy_names, score_proxy
from trainers.proxies.grasp import _exact
from trainers.proxies.naswot import relu_modules

from .conftest import RepNet, tiny_space, zoo

ALL = proxy_names()
ZOO = zoo()


def test_registry_holds_every_proxy_and_misses_helpfully():
    assert set(ALL) == {"synflow", "naswot", "jacov", "snip", "grasp", "fisher", "grad_norm",
                        "zen", "params", "macs"}
    with pytest.raises(Exception, match="synflow"):
        get_proxy("synflw")


def _state(model: nn.Module):
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [m.training for m in model.modules()],
            [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            [(p.requires_grad, p.dtype, p.data_ptr()) for p in model.parameters()],
            [b.data_ptr() for b in model.buffers()],
            ["forward" in m.__dict__ for m in model.modules()])


@pytest.mark.parametrize("net", sorted(ZOO))
@pytest.mark.parametrize("name", ALL)
def test_every_proxy_is_finite_deterministic_and_leaves_the_model_alone(name, net, batch):
    model = copy.deepcopy(ZOO[net])
    model.train()
    with torch.no_grad():  # non-default BN buffers, mixed modes, a stale gradient
        model(batch[0])
    next(iter(model.children())).eval()
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    for p in list(model.parameters())[:1]:  # a frozen layer stays frozen
        p.requires_grad_(False)
    before = _state(model)
    rng = torch.get_rng_state()
    first = score_proxy(name, model, batch, seed=3)
    second = score_proxy(name, model, batch, seed=3)
    assert isinstance(first, float) and math.isfinite(first)
    assert first == second
    after = _state(model)
    assert all(torch.equal(before[0][k], after[0][k]) for k in before[0])
    assert before[1] == after[1]
    assert all(torch.equal(a, b) for a, b in zip(before[2], after[2]))
    assert before[3:] == after[3:]
    assert torch.equal(rng, torch.get_rng_state())


def test_scoring_restores_the_network_after_an_error():
    from trainers.proxies._common import disable_batchnorm, scoring

    model = copy.deepcopy(ZOO["nb201_conv"])
    before = _state(model)
    with pytest.raises(RuntimeError, match="boom"):
        with scoring(model, train=False) as net:
            disable_batchnorm(net).double()
            with torch.no_grad():
                for tensor in net.state_dict().values():
                    tensor.abs_()
            raise RuntimeError("boom")
    after = _state(model)
    assert all(torch.equal(before[0][k], after[0][k]) for k in before[0])
    assert before[1] == after[1]
    assert before[3:] == after[3:]


@pytest.mark.parametrize("name", ["synflow", "snip", "grasp", "fisher", "grad_norm", "params",
                                  "macs"])
def test_a_network_without_weights_scores_zero(name, batch):
    assert score_proxy(name, ZOO["no_weights"], batch) == 0.0


def test_scores_differ_between_architectures(batch):
    for name in ("synflow", "naswot", "snip", "params"):
        scores = {score_proxy(name, ZOO[n], batch) for n in ("nb201_conv", "nb201_paramfree_ops")}
        assert len(scores) == 2, name


def test_zen_seed_changes_the_score(batch):
    model = ZOO["nb201_conv"]
    assert score_proxy("zen", model, batch, seed=0) != score_proxy("zen", model, batch, seed=1)


def _linear(weight):
    net = nn.Sequential(nn.Flatten(), nn.Linear(weight.shape[1], weight.shape[0], bias=False))
    net[1].weight.data = weight.clone()
    return net


def test_synflow_matches_its_definition_on_a_two_layer_net():
    # R = 1^T |W2| |W1| 1; dR/dW1 = |W2|^T 1 1^T, dR/dW2 = 1 (|W1| 1)^T
    w1, w2 = torch.tensor([[1.0, -2.0], [3.0, 0.5]]), torch.tensor([[-1.0, 2.0]])
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False), nn.BatchNorm1d(2),
                        nn.Linear(2, 1, bias=False))
    net[1].weight.data, net[3].weight.data = w1.clone(), w2.clone()
    a1, a2 = w1.abs(), w2.abs()
    expected = float((a1 * (a2.T @ torch.ones(1, 2))).sum() + (a2 * (a1 @ torch.ones(2))).sum())
    got = score_proxy("synflow", net, (torch.randn(4, 2, 1, 1), torch.zeros(4, dtype=torch.long)))
    assert got == pytest.approx(expected, rel=1e-12)  # BN disabled, float64


def test_snip_grad_norm_and_grasp_match_autograd_on_a_linear_classifier():
    torch.manual_seed(0)
    w = torch.randn(3, 5)
    x, y = torch.randn(7, 5, 1, 1), torch.tensor([0, 1, 2, 0, 1, 2, 0])

    def loss(weight):
        return nn.functional.cross_entropy(x.flatten(1) @ weight.T, y)

    g = torch.autograd.functional.jacobian(loss, w)
    hess = torch.autograd.functional.hessian(loss, w).reshape(15, 15)
    net = _linear(w)
    assert score_proxy("snip", net, (x, y)) == pytest.approx(float((w * g).abs().sum()), rel=1e-5)
    assert score_proxy("grad_norm", net, (x, y)) == pytest.approx(float(g.norm()), rel=1e-5)
    hg = (hess @ g.reshape(15)).reshape(3, 5)
    expected = float((-w * hg).sum())
    assert _exact(net, (x, y)) == pytest.approx(expected, rel=1e-4)
    # finite difference in float32 (trainers.proxies.grasp.STEP)
    assert score_proxy("grasp", net, (x, y)) == pytest.approx(expected, rel=0.03)


def test_fisher_matches_its_definition_on_a_linear_classifier():
    torch.manual_seed(1)
    w = torch.randn(3, 5)
    x, y = torch.randn(7, 5, 1, 1), torch.tensor([0, 1, 2, 0, 1, 2, 0])
    a = (x.flatten(1) @ w.T).requires_grad_(True)
    g, = torch.autograd.grad(nn.functional.cross_entropy(a, y), a)
    delta = 0.5 * (a.detach() * g).pow(2).mean(0)  # per output unit
    assert score_proxy("fisher", _linear(w), (x, y)) == pytest.approx(float(5 * delta.sum()),
                                                                       rel=1e-5)


def test_jacov_matches_the_eigenvalue_formula():
    torch.manual_seed(2)
    w = torch.randn(4, 6)
    x = torch.randn(5, 6, 1, 1)
    jac = w.sum(0).expand(5, 6) * 1.0  # linear net: every row of J is sum_k W_k
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 4, bias=False), nn.Tanh())
    net[1].weight.data = w.clone()
    pre = x.flatten(1) @ w.T
    jac = (1 - torch.tanh(pre) ** 2) @ w  # d(sum tanh(Wx))/dx per sample
    eig = torch.linalg.eigvalsh(torch.corrcoef(jac.double())).clamp_min(0)
    expected = float(-(torch.log(eig + 1e-5) + 1 / (eig + 1e-5)).sum())
    got = score_proxy("jacov", net, (x, torch.zeros(5, dtype=torch.long)))
    assert got == pytest.approx(expected, rel=1e-6)


def _naswot_reference(model, x):
    """Mellor et al. 2021 as written: a backward pass marks the visited ReLUs, then a second
    forward pass accumulates K = sum c c^T + (1-c)(1-c)^T over them."""
    net = copy.deepcopy(model).train()
    for m in relu_modules(net):
        m.inplace = False
    visited = set()
    hooks = [m.register_full_backward_hook(lambda m, gi, go: visited.add(id(m)))
             for m in relu_modules(net)]
    xx = x.clone().requires_grad_(True)
    out = net(xx)
    out.backward(torch.ones_like(out))
    for h in hooks:
        h.remove()
    k = torch.zeros(len(x), len(x), dtype=torch.float64)

    def count(m, inputs):
        if id(m) in visited:
            c = (inputs[0].flatten(1) > 0).double()
            k.add_(c @ c.T + (1 - c) @ (1 - c).T)

    for m in relu_modules(net):
        m.register_forward_pre_hook(count)
    with torch.no_grad():
        net(x)
    return float(torch.linalg.slogdet(k)[1])


class DeadBranch(nn.Module):
    """A ReLU whose output never reaches the logits must not count (WT's backward marking)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.used, self.dead = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.ReLU()
        self.pool, self.head = nn.AdaptiveAvgPool2d(1), nn.Linear(4, 10)

    def forward(self, x):
        h = self.conv(x)
        self.dead(h * 2.0)
        return self.head(self.pool(self.used(h)).flatten(1))


@pytest.mark.parametrize("net", ["nb201_conv", "nb201_paramfree_ops", "dead"])
def test_naswot_equals_the_two_pass_reference(net, batch):
    model = DeadBranch() if net == "dead" else ZOO[net]
    assert score_proxy("naswot", model, batch) == pytest.approx(
        _naswot_reference(model, batch[0]), rel=1e-12)


class RepNetWithFeatures(RepNet):
    def forward_features(self, x):
        return self.blocks(self.stem(x))


def test_zen_uses_forward_features_or_the_input_of_global_pooling(batch):
    # RepNet has no forward_features: the hook on its AdaptiveAvgPool2d must give the same
    # value as an explicit forward_features
    torch.manual_seed(0)
    model = RepNet()
    explicit = RepNetWithFeatures()
    explicit.load_state_dict(model.state_dict())
    assert score_proxy("zen", model, batch) == score_proxy("zen", explicit, batch)


def test_proxies_that_do_not_apply_say_why(batch):
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 16), nn.GELU(), nn.Linear(16, 10))
    with pytest.raises(NotApplicable, match="ReLU"):
        score_proxy("naswot", mlp, batch)
    with pytest.raises(NotApplicable, match="global pooling"):
        score_proxy("zen", mlp, batch)
    for name in ("synflow", "snip", "jacov", "params"):
        assert math.isfinite(score_proxy(name, mlp, batch))


def test_naswot_of_identical_codes_is_the_floor():
    net = nn.Sequential(nn.Flatten(), nn.ReLU())
    x = torch.ones(4, 3, 2, 2)  # all samples share one code: K has rank 1
    assert score_proxy("naswot", net, (x, torch.zeros(4, dtype=torch.long))) == 0.0


def test_macs_and_params_baselines_match_the_cost_module(batch):
    from trainers.cost import count_macs, count_params

    model = ZOO["nb201_conv"]
    assert score_proxy("params", model, batch) == count_params(model)
    assert score_proxy("macs", model, batch) == count_macs(model, (3, 8, 8))


def test_every_space_is_scored_by_every_applicable_proxy():
    """Registry-driven: a new space gets all proxies checked the moment it is registered."""
    from search_spaces import get_space, list_spaces

    for space_name in list_spaces():
        space = get_space(space_name)
        if space_name == "nb201":
            space = tiny_space()
        torch.manual_seed(0)
        model = space.build(space.sample(__import__("numpy").random.default_rng(0)))
        x = torch.randn(2, *space.input_size())
        classes = space.options.get("num_classes", 10)
        for name in ALL:
            try:
                get_proxy(name).applies(model)
            except NotApplicable:
                continue
            value = score_proxy(name, model, (x, torch.arange(2) % classes))
            assert math.isfinite(value), (space_name, name)


class BNPlusSkip(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y


@pytest.mark.slow
def test_grasp_finite_difference_agrees_with_double_backprop():
    """NB201 archs as calibrated (float32, batch 64): the two-pass score against ZC's
    double backprop (measured: median relative error 0.5%, max 3%)."""
    from scipy.stats import spearmanr

    from nas.cli.proxies import sample_unique
    from search_spaces import get_space
    from trainers.data import load_dataset, sample_batch

    space = get_space("nb201")  # the CIFAR network (C16-N5) that calibration scores
    batch = sample_batch(load_dataset("digits", 0), 64, 0, space.input_size())
    exact, approx = [], []
    for genotype in sample_unique(space, 10, 0):
        torch.manual_seed(0)
        model = space.build(genotype)
        exact.append(_exact(model, batch))
        approx.append(score_proxy("grasp", model, batch))
    exact, approx = torch.tensor(exact), torch.tensor(approx)
    rel = (approx - exact).abs() / exact.abs()
    assert float(rel.median()) < 0.01 and float(rel.max()) < 0.05, rel
    assert torch.equal(exact.sign(), approx.sign())
    assert spearmanr(exact, approx).statistic >= 0.99


def test_grasp_gets_scale_invariant_layers_exactly():
    """theta_l . (H g)_l = -||g_l||^2 for a conv feeding only a train-mode BN (Arora et al.
    2019): only such convs are found, and their terms match double backprop."""
    from trainers.proxies._common import cross_entropy, scoring
    from trainers.proxies._invariance import invariant_layers

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),  # invariant
                        nn.Conv2d(4, 4, 3), nn.ReLU(),  # no BN: not invariant
                        BNPlusSkip(),  # its output also bypasses the BN: not invariant
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    x, y = torch.randn(8, 3, 8, 8), torch.arange(8)
    with scoring(net) as scored:
        _, found = invariant_layers(scored, lambda: cross_entropy(scored, (x, y)))
    assert found == {id(net[0])}
    w = [net[0].weight, net[3].weight, net[5].conv.weight, net[8].weight]
    loss = nn.functional.cross_entropy(net.train()(x), y)
    g = torch.autograd.grad(loss, w, create_graph=True)
    hg = torch.autograd.grad(sum((gi.detach() * gi).sum() for gi in g), w)
    assert float((w[0].detach() * hg[0]).sum()) == pytest.approx(-float(g[0].detach().pow(2).sum()),
                                                        rel=1e-4)
