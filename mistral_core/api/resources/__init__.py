"""One module per collection; each responder parses, calls, serialises."""
