"""The signed-in user's own settings: for now, agents' personal API tokens."""
