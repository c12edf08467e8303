"""The conversation: sessions, flows, clinical rules, tools and the assistant server."""
