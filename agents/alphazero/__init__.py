"""agents/alphazero."""
