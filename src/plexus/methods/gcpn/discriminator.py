"""GCPN's adversarial reward (section 3.4): a GCN discriminator D(s) trained to tell ZINC
molecules and their BFS sub-graphs (real) from the policy's states (generated).

Reward, as GCPN's released code (`run_molecule.py`, gan_type "recommend"):
    r_adv(s) = coef * max(1 + log D(s), -2)
i.e. 1 minus the generator's cross-entropy, clipped at -2; the step term is divided by the
atom cap (38), the final term is not. Setting both coefficients to 0 removes the reward
(TorchDrug's reproduction); tests check that it changes the reward when on.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from plexus.methods.gcpn.policy import GCN, N_FEATURES, Obs, mlp


class Discriminator(nn.Module):
    """Bond-typed GCN, mean-pooled over atoms, an MLP to one logit."""

    def __init__(self, hidden: int = 64, layers: int = 3):
        super().__init__()
        self.gcn = GCN(N_FEATURES, hidden, layers)
        self.out = mlp(hidden, hidden, 1)

    def forward(self, obs: Obs) -> torch.Tensor:
        h = self.gcn(obs.x, obs.adj)
        w = obs.atom.float()
        g = (h * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp(min=1.0)
        return self.out(g).squeeze(-1)


def adversarial_reward(disc: Discriminator, obs: Obs) -> torch.Tensor:
    """max(1 + log D(s), -2) per state (no coefficient)."""
    with torch.no_grad():
        return (1.0 + F.logsigmoid(disc(obs))).clamp(min=-2.0)


def discriminator_step(disc: Discriminator, opt: torch.optim.Optimizer, real: Obs, fake: Obs) -> float:
    """One Adam step on binary cross-entropy (real = 1, generated = 0); returns the loss."""
    lr = disc(real)
    lf = disc(fake)
    loss = F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr)) + \
        F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()
