"""GCPN's policy: a graph convolutional network over the partial molecule plus the scaffold
nodes, with one head per action part (You et al. 2018, section 3.3), batched over molecules.

A batch of states becomes dense tensors (`batch_obs`): node features [B, N, 13] (atom type
one-hot, charge one-hot, scaffold flag), one normalised adjacency per bond type
[B, 3, N, N] (self-loops added, D^-1/2 (A_e + I) D^-1/2 as in the paper), the free valence
of every node and the atom counts. N = 9 + the largest molecule of the batch. Masks are
recomputed from these tensors (the same rules as `plexus.chem.env`, which tests compare), so
PPO stores states, not masks.

Layers: h <- ReLU(sum_e A_e h W_e) (bond-typed messages), 3 layers of 128 by default; graph
embedding g = mean of atom-node embeddings. Heads (two-layer MLPs):
    stop    MLP(g) -> 2
    first   MLP([h_i, g]) over atoms
    second  MLP([h_first, h_j, g]) over atoms and scaffold nodes
    bond    MLP([h_first, h_second, g]) -> 3
    value   MLP(g) -> 1 (the PPO critic shares the GCN)
log pi(a) = log p(stop) + [not stop] (log p(first) + log p(second | first) + log p(bond | first, second)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from plexus.chem.env import CHARGES, MAX_ATOMS, MAX_VALENCE, N_TYPES, MolState, max_valence

N_FEATURES = N_TYPES + len(CHARGES) + 1
NEG = -1e9


@dataclass
class Obs:
    x: torch.Tensor  # [B, N, F]
    adj: torch.Tensor  # [B, 3, N, N] normalised, with self-loops
    bonded: torch.Tensor  # [B, N, N] bool: a bond exists (atom positions only)
    free: torch.Tensor  # [B, N] free valence (scaffold: the type's max valence; padding: 0)
    atom: torch.Tensor  # [B, N] bool: an atom of the molecule
    n_atoms: torch.Tensor  # [B]

    def index(self, idx: torch.Tensor) -> "Obs":
        return Obs(self.x[idx], self.adj[idx], self.bonded[idx], self.free[idx], self.atom[idx], self.n_atoms[idx])


def batch_obs(states: list[MolState]) -> Obs:
    B = len(states)
    N = N_TYPES + max(s.n for s in states)
    x = np.zeros((B, N, N_FEATURES), dtype=np.float32)
    orders = np.zeros((B, N, N), dtype=np.int64)
    free = np.zeros((B, N), dtype=np.int64)
    atom = np.zeros((B, N), dtype=bool)
    x[:, :N_TYPES, :N_TYPES] = np.eye(N_TYPES, dtype=np.float32)
    x[:, :N_TYPES, -1] = 1.0
    free[:, :N_TYPES] = MAX_VALENCE
    n_atoms = np.zeros(B, dtype=np.int64)
    for b, s in enumerate(states):
        n = s.n
        pos = np.arange(N_TYPES, N_TYPES + n)
        x[b, pos, s.types] = 1.0
        x[b, pos, N_TYPES + np.array([CHARGES.index(int(c)) for c in s.charges])] = 1.0
        orders[b, N_TYPES:N_TYPES + n, N_TYPES:N_TYPES + n] = s.adj
        free[b, pos] = max_valence(s.types, s.charges) - s.adj.sum(1)
        atom[b, pos] = True
        n_atoms[b] = n
    orders_t = torch.from_numpy(orders)
    a = torch.stack([(orders_t == k).float() for k in (1, 2, 3)], 1)  # [B, 3, N, N]
    real = torch.from_numpy(atom) | (torch.arange(N) < N_TYPES)[None]
    eye = torch.diag_embed(real.float())[:, None]  # self-loops on real nodes only
    a = a + eye
    deg = a.sum(-1).clamp(min=1.0)
    dinv = deg.pow(-0.5)
    adj = dinv[..., :, None] * a * dinv[..., None, :]
    return Obs(torch.from_numpy(x), adj, orders_t > 0, torch.from_numpy(free), torch.from_numpy(atom),
               torch.from_numpy(n_atoms))


class GCN(nn.Module):
    """Bond-typed dense GCN: h <- ReLU(sum_e A_e h W_e)."""

    def __init__(self, in_dim: int, hidden: int, layers: int, n_edge: int = 3):
        super().__init__()
        self.inp = nn.Linear(in_dim, hidden)
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.randn(n_edge, hidden, hidden) / hidden ** 0.5) for _ in range(layers)])

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for w in self.weights:
            hw = torch.einsum("bnd,edk->benk", h, w)
            h = torch.relu(torch.einsum("benm,bemk->bnk", adj, hw))
        return h


def mlp(i: int, h: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, o))


def masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits.masked_fill(~mask, NEG), -1)


def masked_entropy(logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    p = logp.exp()
    return -(p * logp).masked_fill(~mask, 0.0).sum(-1)


def first_mask(obs: Obs, max_atoms: int = MAX_ATOMS) -> torch.Tensor:
    ok = obs.atom & (obs.free >= 1)
    full = (obs.n_atoms >= max_atoms)[:, None]
    N = obs.free.shape[1]
    partner = (obs.atom & (obs.free >= 1))[:, None, :] & ~obs.bonded & ~torch.eye(N, dtype=torch.bool)[None]
    return ok & (~full | partner.any(-1))


def second_mask(obs: Obs, first: torch.Tensor, max_atoms: int = MAX_ATOMS) -> torch.Tensor:
    B, N = obs.free.shape
    rows = torch.arange(B)
    scaffold = (torch.arange(N) < N_TYPES)[None] & (obs.n_atoms < max_atoms)[:, None]
    atoms = obs.atom & (obs.free >= 1) & ~obs.bonded[rows, first]
    atoms[rows, first] = False
    return scaffold | atoms


def bond_mask(obs: Obs, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    rows = torch.arange(obs.free.shape[0])
    room = torch.minimum(obs.free[rows, first], obs.free[rows, second])
    return torch.arange(1, 4)[None] <= room[:, None]


@dataclass
class Step:
    first: torch.Tensor
    second: torch.Tensor
    bond: torch.Tensor
    stop: torch.Tensor
    logp: torch.Tensor
    value: torch.Tensor


class Policy(nn.Module):
    def __init__(self, hidden: int = 128, layers: int = 3, max_atoms: int = MAX_ATOMS):
        super().__init__()
        self.max_atoms = max_atoms
        self.gcn = GCN(N_FEATURES, hidden, layers)
        self.stop_head = mlp(hidden, hidden, 2)
        self.first_head = mlp(2 * hidden, hidden, 1)
        self.second_head = mlp(3 * hidden, hidden, 1)
        self.bond_head = mlp(3 * hidden, hidden, 3)
        self.value_head = mlp(hidden, hidden, 1)

    def encode(self, obs: Obs) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.gcn(obs.x, obs.adj)
        w = obs.atom.float()
        g = (h * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp(min=1.0)
        return h, g

    def distribution(self, obs: Obs, first=None, second=None, bond=None, stop=None,
                     generator: torch.Generator | None = None, greedy: bool = False):
        """Sample (when actions are None) or score given actions. Returns (Step, entropy)."""
        h, g = self.encode(obs)
        B, N, d = h.shape
        rows = torch.arange(B)
        gN = g[:, None].expand(B, N, d)

        def draw(logp):
            if greedy:
                return logp.argmax(-1)
            return torch.multinomial(logp.exp(), 1, generator=generator).squeeze(-1)

        m_first = first_mask(obs, self.max_atoms)
        can_edit = m_first.any(-1)
        stop_mask = torch.stack([can_edit, torch.ones_like(can_edit)], -1)
        lp_stop = masked_log_softmax(self.stop_head(g), stop_mask)
        # a molecule with no possible edit gets a dummy first atom so every row has a valid mask
        m_first_safe = m_first.clone()
        m_first_safe[~can_edit, N_TYPES] = True
        lp_first = masked_log_softmax(self.first_head(torch.cat([h, gN], -1)).squeeze(-1), m_first_safe)
        if first is None:
            stop = draw(lp_stop)
            first = draw(lp_first)
        h_first = h[rows, first]
        m_second = second_mask(obs, first, self.max_atoms)
        m_second[~m_second.any(-1), 0] = True  # only for dummy rows
        lp_second = masked_log_softmax(
            self.second_head(torch.cat([h_first[:, None].expand(B, N, d), h, gN], -1)).squeeze(-1), m_second)
        if second is None:
            second = draw(lp_second)
        m_bond = bond_mask(obs, first, second)
        m_bond[~m_bond.any(-1), 0] = True
        lp_bond = masked_log_softmax(self.bond_head(torch.cat([h_first, h[rows, second], g], -1)), m_bond)
        if bond is None:
            bond = draw(lp_bond)
        edit = (stop == 0).float()
        logp = lp_stop[rows, stop] + edit * (lp_first[rows, first] + lp_second[rows, second] + lp_bond[rows, bond])
        entropy = masked_entropy(lp_stop, stop_mask) + can_edit.float() * (
            masked_entropy(lp_first, m_first_safe) + masked_entropy(lp_second, m_second)
            + masked_entropy(lp_bond, m_bond))
        value = self.value_head(g).squeeze(-1)
        return Step(first, second, bond, stop, logp, value), entropy
