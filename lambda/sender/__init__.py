"""The sender function: the outbound queue's requests, paced and consented, out as texts."""
