"""The use cases: each takes its collaborators (adapters, or fakes in tests) as arguments."""
