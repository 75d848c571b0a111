"""ReferenceDiT: a small video diffusion transformer conditioned inside the network on text and on faces.

One joint attention sequence per clip (Phantom / Concat-ID style: the reference faces are tokens of the
same sequence the video attends in, not a side input):

    [ text tokens | identity tokens | reference-face patch tokens | noisy video patch tokens ]
      T             K                 K * R                          (F / tubelet) * N

* text: the all-MiniLM-L6-v2 sentence embedding (384-D) projected to ``text_tokens`` tokens, and also added
  to the timestep embedding that drives every block's adaLN modulation;
* identity k (k < ``max_identities``, in mention order): one token from its 128-D dlib embedding, plus the
  R = (face_size / patch)^2 patch tokens of its reference face, each carrying a learned within-face position,
  a learned slot embedding (which person: first or second mention) and the projected dlib embedding;
* video: (F / tubelet) * N tokens, each a P x P patch over ``tubelet`` consecutive frames, with learned
  spatial and temporal positions.

The model predicts the clean clip x0 (the sampler turns that into a flow-matching velocity). Its output
head has a copy path: every video token, for each of its frames, attends (``copy_dim``-D queries and keys, over the reference
tokens plus a learned "nothing to copy" key) to the reference faces' *raw pixels*, and a per-token gate
mixes that copy with the ordinary linear read-out. Faces therefore reach the frames without squeezing
through the hidden width, which is what lets a model this small reproduce a face it never saw.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ReferenceDiTConfig:
    frames: int = 8  # frames per clip the model generates
    size: int = 64  # frame side in pixels (square frames)
    patch: int = 8  # patch side in pixels, for frames and reference faces alike
    tubelet: int = 4  # consecutive frames one video token covers (frames must divide by it)
    face_size: int = 32  # side of a reference face in pixels (a multiple of ``patch``)
    max_identities: int = 2  # people the model can condition on at once
    face_embedding_dim: int = 128  # dlib_resnet_v1 descriptor length
    text_dim: int = 384  # all-MiniLM-L6-v2 sentence embedding length
    text_tokens: int = 4  # tokens the sentence embedding is projected to
    hidden: int = 128  # transformer width
    depth: int = 5  # transformer blocks
    heads: int = 4  # attention heads (hidden must divide by it)
    mlp_ratio: float = 4.0  # MLP hidden width / transformer width
    copy_dim: int = 64  # query/key width of the output copy attention

    def __post_init__(self) -> None:
        if self.size % self.patch or self.face_size % self.patch:
            raise ValueError(
                f"size {self.size} and face_size {self.face_size} must be multiples of patch {self.patch}"
            )
        if self.frames % self.tubelet:
            raise ValueError(f"frames {self.frames} must be a multiple of tubelet {self.tubelet}")
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not divisible by heads {self.heads}")

    @property
    def grid(self) -> int:
        """Patches per frame side."""
        return self.size // self.patch

    @property
    def face_grid(self) -> int:
        """Patches per reference-face side."""
        return self.face_size // self.patch

    @property
    def patch_dim(self) -> int:
        """Values in one RGB patch."""
        return 3 * self.patch * self.patch

    @property
    def video_tokens(self) -> int:
        """Video tokens in the sequence: tubelets x patches per frame."""
        return self.frames // self.tubelet * self.grid**2

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) times in [0, 1] -> (B, dim) sinusoidal features."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = 1000.0 * t[:, None].float() * freqs[None]  # (B, half)
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


class Block(nn.Module):
    """Pre-norm transformer block with adaLN-zero modulation (DiT)."""

    def __init__(self, config: ReferenceDiTConfig) -> None:
        super().__init__()
        d = config.hidden
        self.heads = config.heads
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        hidden = int(d * config.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, d))
        self.modulation = nn.Linear(d, 6 * d)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """x (B, L, D), c (B, D), key_mask (B, 1, 1, L) bool (True: attend) -> (B, L, D)."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(c)).chunk(6, dim=-1)
        B, L, D = x.shape
        qkv = self.qkv(modulate(self.norm1(x), shift1, scale1))  # (B, L, 3*D)
        q, k, v = qkv.view(B, L, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, H, L, D/H)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask)  # (B, H, L, D/H)
        x = x + gate1[:, None] * self.proj(attended.transpose(1, 2).reshape(B, L, D))
        return x + gate2[:, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))


class ReferenceDiT(nn.Module):
    """See the module docstring. ``forward`` returns the predicted clean clip."""

    def __init__(self, config: ReferenceDiTConfig) -> None:
        super().__init__()
        self.config = config
        c, d = config, config.hidden
        faces_tokens = c.face_grid**2
        self.video_in = nn.Linear(c.tubelet * c.patch_dim, d)
        self.face_in = nn.Linear(c.patch_dim, d)
        self.video_space = nn.Parameter(torch.randn(c.grid**2, d) * 0.02)  # (N, D)
        self.video_time = nn.Parameter(torch.randn(c.frames // c.tubelet, d) * 0.02)  # (F/tubelet, D)
        self.face_space = nn.Parameter(torch.randn(faces_tokens, d) * 0.02)  # (R, D)
        self.slots = nn.Parameter(torch.randn(c.max_identities, d) * 0.02)  # (K, D)
        self.kind = nn.Parameter(torch.randn(4, d) * 0.02)  # text, identity, reference, video
        self.identity_in = nn.Sequential(nn.Linear(c.face_embedding_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.text_in = nn.Linear(c.text_dim, c.text_tokens * d)
        self.text_cond = nn.Sequential(nn.Linear(c.text_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.time_in = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.depth))
        self.norm_out = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.modulation_out = nn.Linear(d, 2 * d)
        nn.init.zeros_(self.modulation_out.weight)
        nn.init.zeros_(self.modulation_out.bias)
        self.pixels_out = nn.Linear(d, c.tubelet * c.patch_dim)
        self.copy_query = nn.Linear(d, c.tubelet * c.copy_dim)
        self.copy_key = nn.Linear(d, c.copy_dim)
        self.copy_null = nn.Parameter(torch.zeros(c.copy_dim))  # the key of "copy nothing" (value 0)
        self.copy_gate = nn.Linear(d, c.tubelet)
        nn.init.constant_(self.copy_gate.bias, -2.0)  # start by mostly not copying

    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        """(B, M, 3, H, W) -> (B, M, H/P * W/P, 3*P*P), each patch's values in (c, p, q) order."""
        B, M, C, H, W = images.shape
        p = self.config.patch
        patches = images.reshape(B, M, C, H // p, p, W // p, p).permute(
            0, 1, 3, 5, 2, 4, 6
        )  # (B, M, h, w, C, p, q)
        return patches.reshape(B, M, (H // p) * (W // p), C * p * p)

    def video_patchify(self, video: torch.Tensor) -> torch.Tensor:
        """(B, F, 3, H, W) -> (B, F/tubelet * N, tubelet, 3*P*P): one row per video token and frame."""
        B, F_, C, _, _ = video.shape
        tau, n = self.config.tubelet, self.config.grid**2
        patches = self.patchify(video)  # (B, F, N, 3*P*P)
        patches = patches.reshape(B, F_ // tau, tau, n, C * self.config.patch**2).transpose(
            2, 3
        )  # (B, T, N, tau, V)
        return patches.reshape(B, F_ // tau * n, tau, C * self.config.patch**2)

    def video_unpatchify(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, F/tubelet * N, tubelet, 3*P*P) -> (B, F, 3, H, W), the inverse of ``video_patchify``."""
        c = self.config
        B = tokens.shape[0]
        p, g, tau = c.patch, c.grid, c.tubelet
        frames = tokens.reshape(B, c.frames // tau, g * g, tau, c.patch_dim).transpose(
            2, 3
        )  # (B, T, tau, N, V)
        images = frames.reshape(B, c.frames, g, g, 3, p, p).permute(
            0, 1, 4, 2, 5, 3, 6
        )  # (B, F, C, h, p, w, q)
        return images.reshape(B, c.frames, 3, g * p, g * p)

    def forward(
        self,
        noisy: torch.Tensor,
        t: torch.Tensor,
        text: torch.Tensor,
        faces: torch.Tensor,
        face_embeddings: torch.Tensor,
        present: torch.Tensor,
    ) -> torch.Tensor:
        """Predict the clean clip.

        noisy (B, F, 3, S, S) in the data's [-1, 1] scale plus noise; t (B,) noise level in [0, 1];
        text (B, 384); faces (B, K, 3, face_size, face_size) in [-1, 1]; face_embeddings (B, K, 128);
        present (B, K) bool (False: no one in that slot, its tokens are masked out). Returns (B, F, 3, S, S).
        """
        c = self.config
        B, K = noisy.shape[0], faces.shape[1]
        if noisy.shape[1:] != (c.frames, 3, c.size, c.size) or c.max_identities != K:
            raise ValueError(
                f"expected noisy (B, {c.frames}, 3, {c.size}, {c.size}) and {c.max_identities} face slots, "
                f"got {tuple(noisy.shape)} and {K}"
            )
        # 1. conditioning vector for adaLN: noise level + sentence
        cond = self.time_in(timestep_embedding(t, c.hidden)) + self.text_cond(text)  # (B, D)
        # 2. tokens
        text_tokens = self.text_in(text).view(B, c.text_tokens, c.hidden) + self.kind[0]  # (B, T, D)
        identity = self.identity_in(face_embeddings) + self.slots  # (B, K, D)
        identity_tokens = identity + self.kind[1]  # (B, K, D)
        face_patches = self.patchify(faces)  # (B, K, R, 3*P*P)
        face_tokens = (
            self.face_in(face_patches) + self.face_space + identity[:, :, None] + self.kind[2]
        )  # (B, K, R, D)
        R = c.face_grid**2
        face_tokens = face_tokens.reshape(B, K * R, c.hidden)  # (B, K*R, D)
        video_patches = self.video_patchify(noisy).reshape(
            B, c.frames // c.tubelet, c.grid**2, -1
        )  # (B, T, N, tau*V)
        video_tokens = (
            self.video_in(video_patches) + self.video_space + self.video_time[:, None] + self.kind[3]
        )
        video_tokens = video_tokens.reshape(B, c.video_tokens, c.hidden)  # (B, T*N, D)
        x = torch.cat([text_tokens, identity_tokens, face_tokens, video_tokens], dim=1)  # (B, L, D)
        # 3. mask: absent people's identity and face tokens are never attended to
        face_present = present[:, :, None].expand(B, K, R).reshape(B, K * R)  # (B, K*R)
        always = torch.ones(B, c.text_tokens, dtype=torch.bool, device=noisy.device)
        video_present = torch.ones(B, c.video_tokens, dtype=torch.bool, device=noisy.device)
        keys = torch.cat([always, present, face_present, video_present], dim=1)  # (B, L)
        key_mask = keys[:, None, None, :]  # (B, 1, 1, L)
        # 4. transformer
        for block in self.blocks:
            x = block(x, cond, key_mask)
        shift, scale = self.modulation_out(F.silu(cond)).chunk(2, dim=-1)
        x = modulate(self.norm_out(x), shift, scale)  # (B, L, D)
        start = c.text_tokens + K
        face_hidden, video_hidden = x[:, start : start + K * R], x[:, start + K * R :]
        # 5. read-out, per token and frame: linear pixels, and the copy of reference pixels, mixed by a gate
        M, tau = c.video_tokens, c.tubelet
        pixels = self.pixels_out(video_hidden).view(B, M, tau, c.patch_dim)  # (B, M, tau, V)
        query = self.copy_query(video_hidden).view(B, M * tau, c.copy_dim)  # (B, M*tau, C)
        keys_copy = torch.cat(
            [self.copy_null.expand(B, 1, -1), self.copy_key(face_hidden)], dim=1
        )  # (B, 1+K*R, C)
        values = torch.cat(
            [face_patches.new_zeros(B, 1, c.patch_dim), face_patches.reshape(B, K * R, c.patch_dim)], dim=1
        )  # (B, 1+K*R, 3*P*P)
        copy_keys_present = torch.cat([present.new_ones(B, 1), face_present], dim=1)[:, None]  # (B, 1, 1+K*R)
        logits = (query @ keys_copy.transpose(1, 2)) / math.sqrt(c.copy_dim)  # (B, M*tau, 1+K*R)
        weights = logits.masked_fill(~copy_keys_present, float("-inf")).softmax(dim=-1)
        copied = (weights @ values).view(B, M, tau, c.patch_dim)  # (B, M, tau, V)
        gate = torch.sigmoid(self.copy_gate(video_hidden))[..., None]  # (B, M, tau, 1)
        return self.video_unpatchify(pixels + gate * (copied - pixels))
