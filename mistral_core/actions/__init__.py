"""The action plugin contract and the registry of actions."""
