"""finetune: train a multi-label head (and the encoder) on the labels."""
