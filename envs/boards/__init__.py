"""envs/boards."""
