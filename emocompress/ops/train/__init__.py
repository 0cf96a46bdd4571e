"""The training loop and its settings, shared by finetune, distil and recovery after pruning."""
