"""The demo world: a deterministic simulated shop with injected incidents (history and live)."""
