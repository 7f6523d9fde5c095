"""agents/dqn."""
