"""A tiny random ConsisID pipeline and made-up cameos, shared by the tests that need a real diffusers engine
without weights: every component is built from a config with fixed seeds, so nothing is downloaded and a
4-step, 32x32 run takes a fraction of a second on a CPU."""

from __future__ import annotations

import io

import numpy as np
import torch

from ml.generation.engine import Identity

SENTENCES = [
    "a person surfs a wave at sunset",
    "the person walks along a city street at night",
    "a dog runs on the beach and jumps into the sea",
    "rain falls on a red car in the rain",
    "she smiles and waves at the camera in the park",
    "another person rides a bike down a hill",
]


def tiny_tokenizer():
    """A T5 tokenizer over a SentencePiece unigram model trained in memory (T5's ids: pad 0, eos 1, unk 2)."""
    import sentencepiece as spm
    from transformers import T5Tokenizer

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(SENTENCES * 20),
        model_writer=model,
        vocab_size=48,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.get_piece_size())]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def tiny_pipeline():
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDPMScheduler,
        ConsisIDPipeline,
        ConsisIDTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    transformer = ConsisIDTransformer3DModel(
        num_attention_heads=2,
        attention_head_dim=16,  # inner_dim 32
        in_channels=8,  # noisy latent + image latent, 4 channels each
        out_channels=4,
        time_embed_dim=2,
        text_embed_dim=32,  # the T5 d_model
        num_layers=1,
        sample_width=4,
        sample_height=4,
        sample_frames=9,
        patch_size=2,
        temporal_compression_ratio=4,
        max_text_seq_length=32,
        use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=True,
        is_train_face=True,
        is_kps=False,
        cross_attn_interval=1,
        cross_attn_dim_head=8,
        cross_attn_num_heads=2,
        LFE_id_dim=16,
        LFE_vit_dim=16,
        LFE_depth=2,
        LFE_dim_head=8,
        LFE_num_heads=2,
        LFE_num_id_token=2,
        LFE_num_querie=4,
        LFE_output_dim=21,  # the cross-attention kv dim: int(inner_dim * 2 / 3)
        LFE_ff_mult=1,
        LFE_num_scale=2,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),  # spatial factor 2 ** 3 = 8
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
    )
    torch.manual_seed(0)
    text_encoder = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=1,
            num_heads=2,
            relative_attention_num_buckets=8,
        )
    )
    return ConsisIDPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=CogVideoXDPMScheduler(),
    )


def make_identity(handle: str, seed: int, *, faces_from: int | None = None) -> Identity:
    """A made-up cameo: a random 128-D embedding and one blocky 150x150 crop (``faces_from``: another seed's)."""
    rng = np.random.default_rng(seed)
    embedding = rng.normal(0.0, 0.1, 128).astype(np.float32)
    face_rng = np.random.default_rng(seed if faces_from is None else faces_from)
    blocks = face_rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)
    crop = np.kron(blocks, np.ones((15, 15, 1), dtype=np.uint8))  # (150, 150, 3)
    return Identity(handle=handle, face_embedding=embedding, reference_faces=(crop,))
