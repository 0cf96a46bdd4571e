"""Speed and memory of variants (each in its own child process) and the bench settings."""
