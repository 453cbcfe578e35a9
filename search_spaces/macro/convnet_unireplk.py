"""UniRepLKNet's block, trained with BN, SE and GRN and fused for deploy (Ding et al.
2024, UniRepLKNet; reference AILab-CVC/UniRepLKNet unireplknet.py).

y = x + DropPath(gamma * BN(Linear_{rC->C}(GRN(GELU(Linear_{C->rC}(SE(BN(mixer(x)))))))))
with SE to C/4, the second Linear without bias and gamma a layer scale (1e-6).
"""
from __future__ import annotations

import torch
from torch import nn

from ..ops.block_layers import GRN, DropPath, SqueezeExcite
from ..reparam import conv_from_weights, fuse_conv_bn, fuse_model, is_fusable

__all__ = ["UniRepLKBlock"]


class UniRepLKBlock(nn.Module):
    """The UniRepLKNet block around any token mixer; `fuse()` returns its deploy form.

    Deploy (`deploy=True`): the mixer with the BN folded in (when it fuses to a conv), no
    trailing BN, GRN without beta, the second Linear with a bias holding beta projected
    through it, the trailing BN and the layer scale. (B, C, H, W) -> same.
    """

    def __init__(self, channels: int, mixer: nn.Module, expansion: int = 4,
                 drop_prob: float = 0.0, layer_scale: float = 1e-6,
                 deploy: bool = False) -> None:
        super().__init__()
        hidden = expansion * channels
        self.reparam = not deploy
        self.dwconv = mixer
        self.norm = nn.Identity() if deploy else nn.BatchNorm2d(channels)
        self.se = SqueezeExcite(channels, channels // 4)
        self.pwconv1 = nn.Linear(channels, hidden)
        self.act = nn.GELU()
        self.grn = GRN(hidden, bias=not deploy)
        self.pwconv2 = nn.Linear(hidden, channels, bias=deploy)
        self.bn = nn.Identity() if deploy else nn.BatchNorm2d(channels)
        self.gamma = None if deploy else nn.Parameter(torch.full((channels,), layer_scale))
        self.drop_path = DropPath(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.se(self.norm(self.dwconv(x))).permute(0, 2, 3, 1)
        y = self.pwconv2(self.grn(self.act(self.pwconv1(y))))
        y = self.bn(y.permute(0, 3, 1, 2))
        if self.gamma is not None:
            y = y * self.gamma.view(1, -1, 1, 1)
        return x + self.drop_path(y)

    @torch.no_grad()
    def fuse(self) -> "UniRepLKBlock":
        """The deploy block, equal in eval mode (Ding et al. 2024, `reparameterize`)."""
        channels, hidden = self.pwconv2.out_features, self.pwconv2.in_features
        mixer, norm = self._fused_mixer()
        weight = self.pwconv2.weight
        deploy = UniRepLKBlock(channels, mixer, hidden // channels, self.drop_path.prob,
                               deploy=True).to(weight.device, weight.dtype)
        deploy.norm = norm
        deploy.se.load_state_dict(self.se.state_dict())
        deploy.pwconv1.load_state_dict(self.pwconv1.state_dict())
        deploy.grn.gamma.copy_(self.grn.gamma)
        bn = self.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) * self.gamma
        deploy.pwconv2.weight.copy_(weight * scale.view(-1, 1))
        deploy.pwconv2.bias.copy_(
            (bn.bias * self.gamma) + (weight @ self.grn.beta - bn.running_mean) * scale)
        return deploy.train(self.training)

    def _fused_mixer(self) -> tuple[nn.Module, nn.Module]:
        """(mixer with the BN folded, Identity) when the mixer fuses to a conv, else
        (the mixer's own deploy form, the BN kept)."""
        mixer = self.dwconv.fuse() if is_fusable(self.dwconv) else fuse_model(self.dwconv)
        if type(mixer) is not nn.Conv2d:
            return mixer, self.norm
        weight, bias = fuse_conv_bn(mixer, self.norm)
        return conv_from_weights(weight, bias, stride=mixer.stride, padding=mixer.padding,
                                 dilation=mixer.dilation, groups=mixer.groups), nn.Identity()
