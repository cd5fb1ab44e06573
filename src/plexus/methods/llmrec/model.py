"""LightGCN with LLMRec's side features (Wei et al., WSDM 2024; official `Models.py`).

The ID part is the recommendation core's LightGCN unchanged (`recommenders.lightgcn`: free
user/item embeddings, K layers of D^-1/2 A D^-1/2 propagation, mean of layers 0..K). Each
side feature is a fixed matrix of text embeddings, projected to the embedding size by its
own linear layer (Xavier init, dropout `drop_rate`), spread over the interaction graph by
mean aggregation and added L2-normalised at its rate, as the official model does:

    item text T [I, F]        t = W_t T   u += model_cat_rate * norm(R_u t)      i += model_cat_rate * norm(R_i R_u t)
    user profiles P [U, F]    p = W_p P   u += user_cat_rate * norm(R_u R_i p)   i += user_cat_rate * norm(R_i p)
    item attributes A [I, F]  a = W_a A   u += item_cat_rate * norm(R_u a)       i += item_cat_rate * norm(R_i R_u a)

with R_u = D_u^-1 R (a user's mean over its training items) and R_i = D_i^-1 R^T (the official
code scales by D^-1/2 of one side only; the features are L2-normalised after propagation, so
only the mixing, not the scale, matters). A rate of 0 (or a missing feature) removes its term
and its parameters: with all three at 0 the model is the core LightGCN exactly, same
parameters, same initialisation, same outputs.

MAE (denoise.py): in training, a `mask_rate` share of users (items) has its profile
(attribute) row replaced by a learnable [MASK] vector before projection; a decoder maps the
propagated features of the masked nodes back to the input space and the SCE loss compares
them with the unmasked input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from plexus.methods.llmrec.denoise import apply_mask, mask_nodes, sce_loss
from plexus.methods.recommenders.lightgcn import LightGCN, layer_mean
from plexus.nn.sparse import SparseOperator


@dataclass
class SideFeatures:
    """Fixed text-embedding matrices; None where a part is not used."""

    text: torch.Tensor | None = None  # [num_items, F] item text (title | genres)
    profiles: torch.Tensor | None = None  # [num_users, F] user profiles
    attributes: torch.Tensor | None = None  # [num_items, F] item attributes


@dataclass
class Rates:
    model_cat_rate: float = 0.02
    user_cat_rate: float = 0.72
    item_cat_rate: float = 0.003


def mean_operators(train: torch.Tensor, num_users: int, num_items: int) -> tuple[SparseOperator, SparseOperator]:
    """(R_u [U, I], R_i [I, U]): row-mean aggregation over the 0/1 training matrix."""
    key = torch.unique(train[0].long() * num_items + train[1].long())
    u, i = key // num_items, key % num_items
    du = torch.bincount(u, minlength=num_users).clamp(min=1).float()
    di = torch.bincount(i, minlength=num_items).clamp(min=1).float()
    ru = torch.sparse_coo_tensor(torch.stack([u, i]), 1.0 / du[u], (num_users, num_items),
                                 check_invariants=False).coalesce()
    ri = torch.sparse_coo_tensor(torch.stack([i, u]), 1.0 / di[i], (num_items, num_users),
                                 check_invariants=False).coalesce()
    return SparseOperator(ru), SparseOperator(ri)


def _linear(fin: int, fout: int) -> nn.Linear:
    lin = nn.Linear(fin, fout)
    nn.init.xavier_uniform_(lin.weight)
    nn.init.zeros_(lin.bias)
    return lin


class LLMRecModel(nn.Module):
    def __init__(self, num_users: int, num_items: int, dim: int, layers: int, adj: SparseOperator,
                 train: torch.Tensor, feats: SideFeatures, rates: Rates, init_std: float = 0.1,
                 drop_rate: float = 0.0, mask_rate: float = 0.0):
        super().__init__()
        # the core LightGCN first, so a seed initialises its embeddings exactly as LightGCN's
        self.base = LightGCN(num_users, num_items, dim, layers, adj, init_std)
        self.num_users, self.num_items = num_users, num_items
        self.rates = rates
        self.dropout = nn.Dropout(drop_rate)
        self.mask_rate = mask_rate
        use = {"text": feats.text is not None and rates.model_cat_rate != 0,
               "profiles": feats.profiles is not None and rates.user_cat_rate != 0,
               "attributes": feats.attributes is not None and rates.item_cat_rate != 0}
        self.uses = use
        if any(use.values()):
            self.ru, self.ri = mean_operators(train, num_users, num_items)
        for name, on in use.items():
            x = getattr(feats, name)
            self.register_buffer(f"{name}_x", x.float() if on else None, persistent=False)  # data, not weights
            setattr(self, f"{name}_proj", _linear(x.size(1), dim) if on else None)
        self.mae = mask_rate > 0 and (use["profiles"] or use["attributes"])
        if self.mae:  # [MASK] tokens and decoders (official `Decoder`: linear + LeakyReLU)
            if use["profiles"]:
                self.user_token = nn.Parameter(torch.zeros(feats.profiles.size(1)))
                self.user_decoder = nn.Sequential(_linear(dim, feats.profiles.size(1)), nn.LeakyReLU())
            if use["attributes"]:
                self.item_token = nn.Parameter(torch.zeros(feats.attributes.size(1)))
                self.item_decoder = nn.Sequential(_linear(dim, feats.attributes.size(1)), nn.LeakyReLU())

    @property
    def embedding(self) -> torch.Tensor:
        return self.base.embedding

    def forward(self, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Final user and item embeddings, and in training (a generator given, MAE on) the SCE
        reconstruction loss of this draw's masked nodes; `text_reg` is the squared norm of
        the propagated text features (the official feature regulariser)."""
        full = layer_mean(self.base.embedding, self.base.adj, self.base.layers)
        user, item = full[: self.num_users], full[self.num_users:]
        zero = user.new_zeros(())
        out = {"sce": zero, "text_reg": zero}
        masking = self.mae and self.training and generator is not None
        if self.uses["text"]:
            t = self.dropout(self.text_proj(self.text_x))
            tu = self.ru @ t
            ti = self.ri @ tu
            r = self.rates.model_cat_rate
            user = user + r * F.normalize(tu, dim=1)
            item = item + r * F.normalize(ti, dim=1)
            out["text_reg"] = 0.5 * (tu.pow(2).sum() + ti.pow(2).sum()) / self.num_items
        if self.uses["profiles"]:
            x = self.profiles_x
            if masking:
                u_mask = mask_nodes(self.num_users, self.mask_rate, generator)
                x = apply_mask(x, u_mask, self.user_token)
            p = self.dropout(self.profiles_proj(x))
            pi = self.ri @ p
            pu = self.ru @ pi
            r = self.rates.user_cat_rate
            user = user + r * F.normalize(pu, dim=1)
            item = item + r * F.normalize(pi, dim=1)
            if masking:
                out["sce"] = out["sce"] + sce_loss(self.user_decoder(pu[u_mask]), self.profiles_x[u_mask])
        if self.uses["attributes"]:
            x = self.attributes_x
            if masking:
                i_mask = mask_nodes(self.num_items, self.mask_rate, generator)
                x = apply_mask(x, i_mask, self.item_token)
            a = self.dropout(self.attributes_proj(x))
            au = self.ru @ a
            ai = self.ri @ au
            r = self.rates.item_cat_rate
            user = user + r * F.normalize(au, dim=1)
            item = item + r * F.normalize(ai, dim=1)
            if masking:
                out["sce"] = out["sce"] + sce_loss(self.item_decoder(ai[i_mask]), self.attributes_x[i_mask])
        out["user"], out["item"] = user, item
        return out

    def final(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final user and item embeddings (no masking, no dropout in eval mode)."""
        out = self.forward()
        return out["user"], out["item"]
