"""Neural networks: the NaDiT diffusion transformers and the causal video VAE."""
